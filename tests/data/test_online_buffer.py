"""The vectorised online replay buffer gives d3rlpy's FIFO batches exactly: same transitions,
same draws, same eviction, same training."""

from __future__ import annotations

import io
from typing import Any

import d3rlpy
import gymnasium as gym
import numpy as np
import pytest
import torch

from offline_iq.data import online_buffer
from offline_iq.data.online_buffer import (
    FastReplayBuffer,
    TransitionRing,
    create_fast_fifo_replay_buffer,
)

_FIELDS = ("observations", "actions", "rewards", "next_observations", "next_actions",
           "terminals", "intervals")  # fmt: skip


def _fill(buffers: list[d3rlpy.dataset.ReplayBuffer], episodes: int, seed: int) -> None:
    """Write the same episodes (float64 observations, terminated or truncated) to each buffer."""
    rng = np.random.default_rng(seed)
    for _ in range(episodes):
        length = int(rng.integers(1, 9))
        terminated = bool(rng.integers(2))
        for _ in range(length):
            obs, rew = rng.normal(size=3), rng.normal()
            act = rng.uniform(-1, 1, 2).astype(np.float32)
            for buffer in buffers:
                buffer.append(obs, act, rew)
        for buffer in buffers:
            buffer.clip_episode(terminated)


def _env() -> gym.Env[Any, Any]:
    return gym.make("Pendulum-v1")  # Box(3,) float32 observations, Box(1,) actions


def _float64_env() -> gym.Env[Any, Any]:
    """Float64 observations (as MuJoCo's) and 2-d actions, for :func:`_fill`."""
    env = gym.make("Pendulum-v1")
    env.observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float64)
    env.action_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    return env


def _same_batches(reference: d3rlpy.dataset.ReplayBuffer, fast: FastReplayBuffer) -> None:
    assert fast.transition_count == reference.transition_count
    for seed in range(3):
        np.random.seed(seed)
        want = reference.sample_transition_batch(64)
        np.random.seed(seed)
        got = fast.sample_transition_batch(64)
        for name in _FIELDS:
            expected = getattr(want, name)
            assert getattr(got, name).dtype == expected.dtype == np.float32
            np.testing.assert_array_equal(getattr(got, name), expected, err_msg=name)


@pytest.mark.parametrize("limit", [10_000, 37])  # growth only; growth, then eviction
def test_batches_equal_d3rlpy_fifo(limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(online_buffer, "_FIRST_CAPACITY", 4)  # rings grow 4, 8, 16, ...
    env = _float64_env()
    reference = d3rlpy.dataset.create_fifo_replay_buffer(limit, env=env)
    fast = create_fast_fifo_replay_buffer(limit, env=env)
    _fill([reference, fast], episodes=40, seed=limit)
    assert fast.transition_count == min(limit, reference.transition_count)
    _same_batches(reference, fast)


def test_terminal_rows_are_zero_and_truncated_ends_are_not_transitions() -> None:
    fast = create_fast_fifo_replay_buffer(100, env=_env())
    for step in range(3):  # terminated episode: 3 transitions, the last one terminal
        fast.append(np.full(3, step, np.float32), np.array([step], np.float32), float(step))
    fast.clip_episode(True)
    for step in range(3):  # truncated: the last row has no next observation, so 2 transitions
        fast.append(np.full(3, 10 + step, np.float32), np.array([0.5], np.float32), 1.0)
    fast.clip_episode(False)
    batch = fast._buffer.batch(np.arange(fast.transition_count))
    np.testing.assert_array_equal(batch.terminals[:, 0], [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(batch.next_observations[2], np.zeros(3))
    np.testing.assert_array_equal(batch.next_observations[:, 0], [1, 2, 0, 11, 12])
    np.testing.assert_array_equal(batch.next_actions[:, 0], [1, 2, 0, 0.5, 0.5])


def test_integer_observations_keep_their_dtype_and_gather_as_d3rlpy() -> None:
    env = gym.make("Pendulum-v1")
    env.observation_space = gym.spaces.Box(0, 255, (2, 3), np.uint8)  # a tiny image
    reference = d3rlpy.dataset.create_fifo_replay_buffer(50, env=env)
    fast = create_fast_fifo_replay_buffer(50, env=env)
    rng = np.random.default_rng(0)
    for episode in range(12):
        for _ in range(6):
            obs = rng.integers(0, 256, (2, 3), dtype=np.uint8)
            for buffer in (reference, fast):
                buffer.append(obs, np.array([0.1], np.float32), 1.0)
        for buffer in (reference, fast):
            buffer.clip_episode(episode % 2 == 0)
    assert fast._buffer._rings["observations"].dtype == np.uint8
    _same_batches(reference, fast)


@pytest.mark.parametrize("limit", [1000, 23])  # growth only; growth, then eviction
def test_dump_and_load_keep_the_batches(limit: int) -> None:
    reference = d3rlpy.dataset.create_fifo_replay_buffer(limit, env=_float64_env())
    fast = create_fast_fifo_replay_buffer(limit, env=_float64_env())
    _fill([reference, fast], episodes=12, seed=3)
    dumped = io.BytesIO()
    fast.dump(dumped)
    dumped.seek(0)
    loaded = FastReplayBuffer.load_fifo(dumped, limit)
    _same_batches(reference, loaded)


def test_bad_use_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        TransitionRing(0)
    with pytest.raises(TypeError, match="TransitionRing"):
        FastReplayBuffer(d3rlpy.dataset.FIFOBuffer(10), env=_env())
    picker = d3rlpy.dataset.SparseRewardTransitionPicker(failure_return=0)
    with pytest.raises(ValueError, match="SparseRewardTransitionPicker"):
        FastReplayBuffer(TransitionRing(10), env=_env(), transition_picker=picker)

    class OwnPicker(d3rlpy.dataset.BasicTransitionPicker):
        pass  # may pick differently: its picks would be ignored, so it is refused

    with pytest.raises(ValueError, match="OwnPicker"):
        FastReplayBuffer(TransitionRing(10), env=_env(), transition_picker=OwnPicker())
    with pytest.raises(ValueError, match="empty"):
        create_fast_fifo_replay_buffer(10, env=_env()).sample_transition_batch(4)


def test_sac_trains_bit_identically_on_either_buffer() -> None:
    weights = []
    for buffer in (d3rlpy.dataset.create_fifo_replay_buffer(10_000, env=_env()),
                   create_fast_fifo_replay_buffer(10_000, env=_env())):  # fmt: skip
        d3rlpy.seed(7)
        env = _env()
        env.reset(seed=7)
        env.action_space.seed(7)  # the random warm-up steps
        factory = d3rlpy.models.VectorEncoderFactory([16])
        sac = d3rlpy.algos.SACConfig(batch_size=32, actor_encoder_factory=factory,
                                     critic_encoder_factory=factory).create()  # fmt: skip
        sac.fit_online(env, buffer, n_steps=300, n_steps_per_epoch=300, update_start_step=100,
                       random_steps=100, show_progress=False, save_interval=10**6,
                       logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip
        weights.append(torch.cat([p.detach().flatten() for p in sac.impl.policy.parameters()]))
    assert torch.equal(weights[0], weights[1])
