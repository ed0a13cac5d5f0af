"""Batch sampling: offline_iq's vectorised ExpertReplayBuffer vs d3rlpy's per-transition sampler.

Prints milliseconds per batch of 256 for both buffers over the same transitions, their ratio, and
one d3rlpy DQN gradient step for scale. Run: ``.venv/bin/python benchmarks/sampling.py``.
"""

from __future__ import annotations

import time

import d3rlpy
import gymnasium as gym
import numpy as np
from d3rlpy.dataset import Episode, InfiniteBuffer, ReplayBuffer

import offline_iq  # noqa: F401  (sets one torch thread)
from offline_iq.data.buffer import DatasetMetadata, ExpertReplayBuffer
from offline_iq.data.episodes import TransitionEpisode
from offline_iq.data.subset import SubsetSpec

N_EPISODES, LENGTH, OBS_DIM, BATCH = 50, 500, 4, 256


def make_episodes(rng: np.random.Generator) -> tuple[list[TransitionEpisode], list[Episode]]:
    ours, theirs = [], []
    for k in range(N_EPISODES):
        obs = rng.normal(size=(LENGTH + 1, OBS_DIM)).astype(np.float32)
        actions = rng.integers(0, 2, size=(LENGTH, 1)).astype(np.float32)
        rewards = np.ones((LENGTH, 1), dtype=np.float32)
        ours.append(
            TransitionEpisode(
                observations=obs[:-1],
                actions=actions,
                rewards=rewards,
                next_observations=obs[1:],
                terminals=np.zeros((LENGTH, 1), dtype=np.float32),
                timesteps=np.arange(LENGTH),
                initial_observation=obs[0],
                episode_id=k,
                terminated=False,
                episode_length=LENGTH,
                episode_return=float(LENGTH),
            )
        )
        theirs.append(Episode(obs[:-1], actions, rewards, terminated=False))
    return ours, theirs


def per_batch_ms(sample: object, repeats: int) -> float:
    fn = sample  # a zero-argument callable
    fn()  # type: ignore[operator]
    start = time.perf_counter()
    for _ in range(repeats):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / repeats * 1e3


def main() -> None:
    rng = np.random.default_rng(0)
    ours, theirs = make_episodes(rng)
    metadata = DatasetMetadata(
        dataset_id="bench",
        data_path="",
        env_spec=None,
        eval_env_spec=None,
        observation_space=gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32),
        action_space=gym.spaces.Discrete(2),
        ref_min_score=None,
        ref_max_score=None,
        source_episodes=N_EPISODES,
        source_steps=N_EPISODES * LENGTH,
        subset=SubsetSpec(tuple(range(N_EPISODES)), (0,) * N_EPISODES, 1, 0),
        minari_metadata={},
    )
    fast = ExpertReplayBuffer(ours, metadata)
    slow = ReplayBuffer(InfiniteBuffer(), episodes=theirs)
    fast_ms = per_batch_ms(lambda: fast.sample_transition_batch(BATCH), 2000)
    slow_ms = per_batch_ms(lambda: slow.sample_transition_batch(BATCH), 100)

    algo = d3rlpy.algos.DQNConfig(batch_size=BATCH).create(device="cpu:0")
    algo.build_with_dataset(fast)
    batch = fast.sample_transition_batch(BATCH)
    step_ms = per_batch_ms(lambda: algo.update(batch), 300)

    print(f"transitions: {len(fast.transitions)}, batch size {BATCH}")
    print(f"offline_iq ExpertReplayBuffer: {fast_ms:.4f} ms/batch")
    print(f"d3rlpy ReplayBuffer:           {slow_ms:.4f} ms/batch")
    print(f"speed-up: {slow_ms / fast_ms:.0f}x")
    print(
        f"DQN gradient step (for scale): {step_ms:.3f} ms; d3rlpy sampling would add "
        f"{100 * slow_ms / (slow_ms + step_ms):.0f}% to a step, "
        f"ours {100 * fast_ms / (fast_ms + step_ms):.1f}%"
    )


if __name__ == "__main__":
    main()
