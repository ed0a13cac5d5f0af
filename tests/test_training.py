"""The training driver: a resumed online run whose replay buffer was lost refills it first."""

from __future__ import annotations

import d3rlpy
import gymnasium as gym
import torch

from offline_iq.data.online_buffer import create_fast_fifo_replay_buffer
from offline_iq.training import train_in_chunks


def _weights(algo: d3rlpy.algos.SAC) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in algo.impl.policy.state_dict().items()}


def test_resumed_online_run_without_buffer_refills_before_updating() -> None:
    env = gym.make("Pendulum-v1")
    d3rlpy.seed(0)
    algo = d3rlpy.algos.SACConfig(batch_size=16).create(device="cpu:0")
    algo.build_with_env(env)
    start = _weights(algo)
    buffer = create_fast_fifo_replay_buffer(10_000, env=env)
    # resumed at 900 of 1000 steps with an empty buffer: 60 steps of refill over two chunks
    chunks = train_in_chunks(algo, None, steps=1000, chunk=30, done=900, env=env, buffer=buffer,
                             warmup=60)  # fmt: skip
    assert [next(chunks), next(chunks)] == [930, 960]
    assert buffer.transition_count > algo.batch_size  # enough to update on, had it not refilled
    assert all(torch.equal(start[k], v) for k, v in _weights(algo).items())
    assert next(chunks) == 990  # refill over: updates
    assert not all(torch.equal(start[k], v) for k, v in _weights(algo).items())
