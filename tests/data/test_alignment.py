"""Every transition of every episode is (o_t, a_t, r_t, o_{t+1}, terminated_t)."""

from __future__ import annotations

import itertools

import d3rlpy
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offline_iq.data import load_minari
from tests.data.synthetic import EpisodeSpec, action, observation, reward, write_dataset

_counter = itertools.count()

episode_specs = st.lists(
    st.builds(EpisodeSpec, length=st.integers(1, 12), terminated=st.booleans()),
    min_size=1,
    max_size=6,
)


def _check_alignment(specs: list[EpisodeSpec], discrete: bool) -> None:
    dataset_id = f"synthetic/align{next(_counter)}-v0"
    write_dataset(dataset_id, specs, discrete=discrete)
    buffer = load_minari(dataset_id)
    arrays = buffer.transitions
    assert len(arrays) == sum(s.length for s in specs)  # nothing dropped, truncated ends included
    assert buffer.transition_count == len(arrays)
    row = 0
    for k, spec in enumerate(specs):
        for t in range(spec.length):
            np.testing.assert_array_equal(arrays.observations[row], observation(k, t))
            np.testing.assert_array_equal(arrays.next_observations[row], observation(k, t + 1))
            expected_action = np.atleast_1d(np.asarray(action(k, t, discrete), dtype=np.float32))
            np.testing.assert_array_equal(arrays.actions[row], expected_action)
            assert arrays.rewards[row, 0] == np.float32(reward(k, t))
            last = t == spec.length - 1
            assert arrays.terminals[row, 0] == float(spec.terminated and last)
            assert arrays.episode_ids[row] == k and arrays.timesteps[row] == t
            row += 1
    np.testing.assert_array_equal(
        buffer.initial_observations, np.stack([observation(k, 0) for k in range(len(specs))])
    )
    # d3rlpy's own per-transition path (picker over episodes) agrees with the flat arrays.
    for flat_index in range(len(arrays)):
        episode, index = buffer.buffer[flat_index]
        transition = buffer.transition_picker(episode, index)
        np.testing.assert_array_equal(transition.observation, arrays.observations[flat_index])
        np.testing.assert_array_equal(
            transition.next_observation, arrays.next_observations[flat_index]
        )
        assert transition.terminal == arrays.terminals[flat_index, 0]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=episode_specs, discrete=st.booleans())
def test_every_episode_is_aligned(specs: list[EpisodeSpec], discrete: bool) -> None:
    _check_alignment(specs, discrete)


def test_truncated_last_transition_kept_with_true_next_observation() -> None:
    specs = [EpisodeSpec(4, terminated=False), EpisodeSpec(3, terminated=True)]
    write_dataset("synthetic/trunc-v0", specs)
    arrays = load_minari("synthetic/trunc-v0").transitions
    # row 3 is the truncated end of episode 0: not terminal, next state is o_4 of episode 0
    assert arrays.terminals[3, 0] == 0.0
    np.testing.assert_array_equal(arrays.next_observations[3], observation(0, 4))
    # episode 1 starts right after, unshifted (d3rlpy's get_minari shifts it by one step)
    np.testing.assert_array_equal(arrays.observations[4], observation(1, 0))
    assert arrays.terminals[6, 0] == 1.0


def test_sampled_batches_are_rows_of_the_dataset() -> None:
    specs = [EpisodeSpec(n, terminated=bool(n % 2)) for n in (5, 9, 2, 7)]
    write_dataset("synthetic/sample-v0", specs)
    buffer = load_minari("synthetic/sample-v0")
    d3rlpy.seed(3)
    batch = buffer.sample_transition_batch(64)
    assert batch.observations.shape == (64, 3) and batch.actions.shape == (64, 2)
    assert batch.rewards.shape == (64, 1) and batch.terminals.shape == (64, 1)
    k, t = batch.observations[:, 0], batch.observations[:, 1]
    np.testing.assert_array_equal(batch.next_observations[:, 1], t + 1)
    np.testing.assert_array_equal(batch.next_observations[:, 0], k)
    np.testing.assert_array_equal(batch.actions, np.stack([k, t], axis=1))
    d3rlpy.seed(3)
    again = buffer.sample_transition_batch(64)
    np.testing.assert_array_equal(again.observations, batch.observations)
