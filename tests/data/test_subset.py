"""The paper's expert-subset protocol: seeded episode choice and sub-sampling."""

from __future__ import annotations

import numpy as np
import pytest

from offline_iq.data import load_minari
from offline_iq.data.subset import draw_offsets, select_episodes
from tests.data.synthetic import EpisodeSpec, observation, write_dataset

SPECS = [EpisodeSpec(length=20 + 3 * k, terminated=k % 3 == 0) for k in range(8)]


@pytest.fixture()
def dataset_id() -> str:
    write_dataset("synthetic/subset-v0", SPECS)
    return "synthetic/subset-v0"


def test_n_trajectories_is_a_seeded_permutation(dataset_id: str) -> None:
    buffer = load_minari(dataset_id, n_trajectories=3, seed=5)
    expected = np.random.default_rng(5).permutation(len(SPECS))[:3]
    assert buffer.metadata.subset.episode_positions == tuple(int(k) for k in expected)
    assert [ep.episode_id for ep in buffer.episodes] == list(expected)
    assert len(buffer.transitions) == sum(SPECS[k].length for k in expected)
    again = load_minari(dataset_id, n_trajectories=3, seed=5)
    np.testing.assert_array_equal(again.transitions.observations, buffer.transitions.observations)
    other = load_minari(dataset_id, n_trajectories=3, seed=6)
    assert other.metadata.subset.episode_positions != buffer.metadata.subset.episode_positions


def test_subsample_keeps_every_kth_transition_from_an_offset(dataset_id: str) -> None:
    k = 4
    buffer = load_minari(dataset_id, subsample=k, seed=1)
    offsets = buffer.metadata.subset.offsets
    assert offsets == draw_offsets([s.length for s in SPECS], k, 1)
    assert len(set(offsets)) > 1  # offsets are drawn per episode
    for episode, offset, spec in zip(buffer.episodes, offsets, SPECS, strict=True):
        expected_steps = np.arange(offset, spec.length, k)
        np.testing.assert_array_equal(episode.timesteps, expected_steps)
        # each kept transition still has its own true next state
        np.testing.assert_array_equal(episode.next_observations[:, 1], expected_steps + 1)
        ends_here = spec.terminated and expected_steps[-1] == spec.length - 1
        assert episode.terminals[-1, 0] == float(ends_here)
    # true initial states survive sub-sampling
    np.testing.assert_array_equal(
        buffer.initial_observations, np.stack([observation(i, 0) for i in range(len(SPECS))])
    )


def test_offsets_never_empty_an_episode() -> None:
    offsets = draw_offsets([1, 2, 3, 50], subsample=20, seed=0)
    assert offsets[0] == 0 and offsets[1] < 2 and offsets[2] < 3 and offsets[3] < 20


def test_select_all_keeps_dataset_order() -> None:
    assert select_episodes(4, None, seed=9) == (0, 1, 2, 3)
