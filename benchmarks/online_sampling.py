"""Online replay sampling: offline_iq's FastReplayBuffer vs d3rlpy's FIFO and loaded buffers.

Writes the same Hopper-shaped episodes (11-d float64 observations, 3-d actions, 1,000 steps) to
d3rlpy's ``create_fifo_replay_buffer`` and to ``create_fast_fifo_replay_buffer``; also reloads
d3rlpy's dump into an ``InfiniteBuffer`` (what a resumed run sampled from before). Prints
milliseconds per batch of 256 at each size, the ratios, and checks that the batches are equal.
Run: ``.venv/bin/python benchmarks/online_sampling.py [--sizes 10000 100000 300000]``.
"""

from __future__ import annotations

import argparse
import io
import time
from typing import Any

import d3rlpy
import gymnasium as gym
import numpy as np

import offline_iq  # noqa: F401  (sets one torch thread)
from offline_iq.data.online_buffer import create_fast_fifo_replay_buffer

OBS_DIM, ACT_DIM, LENGTH, BATCH, LIMIT = 11, 3, 1000, 256, 1_000_000


def _env() -> gym.Env[Any, Any]:
    env = gym.make("Pendulum-v1")
    env.observation_space = gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float64)
    env.action_space = gym.spaces.Box(-1, 1, (ACT_DIM,), np.float32)
    return env


def ms_per_batch(buffer: d3rlpy.dataset.ReplayBufferBase, repeats: int) -> float:
    """Median over 5 rounds of the mean milliseconds per ``sample_transition_batch(BATCH)``."""
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            buffer.sample_transition_batch(BATCH)
        rounds.append((time.perf_counter() - start) / repeats * 1e3)
    return float(np.median(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    d3 = d3rlpy.dataset.create_fifo_replay_buffer(LIMIT, env=_env())
    fast = create_fast_fifo_replay_buffer(LIMIT, env=_env())
    print(f"batch {BATCH}, {OBS_DIM}-d observations, {ACT_DIM}-d actions; ms per batch (median)")
    print(f"{'transitions':>11} {'d3rlpy FIFO':>12} {'d3rlpy loaded':>14} {'fast':>7} "
          f"{'FIFO/fast':>10} {'loaded/fast':>12}")  # fmt: skip
    for size in sorted(args.sizes):
        while d3.transition_count < size:
            for _ in range(LENGTH):
                obs, act = rng.normal(size=OBS_DIM), rng.uniform(-1, 1, ACT_DIM).astype(np.float32)
                rew = float(rng.normal())
                d3.append(obs, act, rew)
                fast.append(obs, act, rew)
            d3.clip_episode(False)
            fast.clip_episode(False)
        dumped = io.BytesIO()
        d3.dump(dumped)
        dumped.seek(0)
        loaded = d3rlpy.dataset.ReplayBuffer.load(dumped, d3rlpy.dataset.InfiniteBuffer())
        np.random.seed(1)
        want = d3.sample_transition_batch(BATCH)
        np.random.seed(1)
        got = fast.sample_transition_batch(BATCH)
        for name in ("observations", "actions", "rewards", "next_observations", "terminals"):
            assert np.array_equal(getattr(want, name), getattr(got, name)), name
        t_fifo, t_loaded, t_fast = (ms_per_batch(b, r) for b, r in
                                    ((d3, 20), (loaded, 20), (fast, 200)))  # fmt: skip
        print(f"{d3.transition_count:>11} {t_fifo:>12.3f} {t_loaded:>14.3f} {t_fast:>7.3f} "
              f"{t_fifo / t_fast:>10.1f} {t_loaded / t_fast:>12.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
