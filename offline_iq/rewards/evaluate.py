"""Score a recovered reward on a Minari dataset or on fresh rollouts, and plot it."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from offline_iq.plotting import save_figure, subplots
from offline_iq.rewards.recovered import RecoveredReward
from offline_iq.rewards.scoring import RewardReport, episode_sums, score_rewards

__all__ = [
    "RewardSample",
    "collect_rollouts",
    "plot_reward_scatter",
    "sample_from_dataset",
    "score",
    "score_recovered_reward",
]


@dataclasses.dataclass(frozen=True)
class RewardSample:
    """Transitions with their true rewards, row-aligned (``episode_ids`` groups them)."""

    observations: np.ndarray
    actions: np.ndarray
    next_observations: np.ndarray
    terminals: np.ndarray  # (N,)
    true_rewards: np.ndarray  # (N,)
    episode_ids: np.ndarray  # (N,)


@dataclasses.dataclass(frozen=True)
class _Step:
    """One environment step of a rollout, before the steps become :class:`RewardSample` rows."""

    observation: Any
    action: Any
    next_observation: Any
    terminated: bool
    reward: SupportsFloat
    episode: int


def sample_from_dataset(
    data: Any,
    *,
    exclude_episodes: Collection[int] = (),
    only_episodes: Collection[int] | None = None,
) -> RewardSample:
    """The transitions of an ``ExpertReplayBuffer``: all, or without the episodes (Minari ids)
    in ``exclude_episodes`` (e.g. the training ones: ``RunState.trained_episodes``), or only
    those in ``only_episodes``."""
    t = data.transitions
    keep = ~np.isin(t.episode_ids, np.asarray(list(exclude_episodes), dtype=np.int64))
    if only_episodes is not None:
        keep &= np.isin(t.episode_ids, np.asarray(list(only_episodes), dtype=np.int64))
    if not keep.any():
        raise ValueError("no episode of the dataset is left to score on")
    discrete = isinstance(data.metadata.action_space, gym.spaces.Discrete)
    return RewardSample(
        observations=t.observations[keep],
        actions=t.actions[keep, 0].astype(np.int64) if discrete else t.actions[keep],
        next_observations=t.next_observations[keep],
        terminals=t.terminals[keep, 0],
        true_rewards=t.rewards[keep, 0].astype(float),
        episode_ids=t.episode_ids[keep],
    )


def collect_rollouts(
    policy: Any,
    env: gym.Env[Any, Any],
    n_episodes: int,
    *,
    epsilons: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0),
    seed: int = 0,
) -> RewardSample:
    """Episodes of ``policy`` mixed with uniform random actions (probability epsilon).

    Episode ``i`` uses ``epsilons[i % len(epsilons)]``, so the rollouts span expert-like to random
    behaviour and the true return varies across them.
    """
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)
    steps: list[_Step] = []
    for i in range(n_episodes):
        eps = epsilons[i % len(epsilons)]
        obs, _ = env.reset(seed=seed + i)
        done = False
        while not done:
            if rng.random() < eps:
                action = env.action_space.sample()
            else:
                action = policy.predict(np.asarray(obs, dtype=np.float32)[None])[0]
                if isinstance(env.action_space, gym.spaces.Discrete):
                    action = int(action)
            nxt, reward, terminated, truncated, _ = env.step(action)
            steps.append(_Step(obs, action, nxt, terminated, reward, i))
            obs, done = nxt, terminated or truncated
    return RewardSample(
        observations=np.asarray([s.observation for s in steps], dtype=np.float32),
        actions=np.asarray([s.action for s in steps]),
        next_observations=np.asarray([s.next_observation for s in steps], dtype=np.float32),
        terminals=np.asarray([s.terminated for s in steps], dtype=np.float32),
        true_rewards=np.asarray([s.reward for s in steps], dtype=float),
        episode_ids=np.asarray([s.episode for s in steps]),
    )


def score_recovered_reward(
    reward: RecoveredReward,
    sample: RewardSample,
    gamma: float,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[np.ndarray, RewardReport]:
    """Predict ``reward`` on ``sample``; return those rewards and the report of every
    correlation with the true ones (:func:`~offline_iq.rewards.scoring.score_rewards`)."""
    recovered = reward.predict(
        sample.observations, sample.actions, sample.next_observations, sample.terminals
    )
    rows = score_rewards(
        recovered,
        sample.true_rewards,
        sample.episode_ids,
        observations=sample.observations,
        next_observations=sample.next_observations,
        terminals=sample.terminals,
        gamma=gamma,
        n_resamples=n_resamples,
        seed=seed,
    )
    return recovered, rows


score = score_recovered_reward  # the former name, still used by the notebooks


def plot_reward_scatter(
    recovered: np.ndarray, sample: RewardSample, path: str | Path, title: str = ""
) -> Path:
    """Recovered against true reward, per transition and per episode (sums)."""
    fig, (left, right) = subplots(2, figsize=(9, 3.8))
    left.scatter(sample.true_rewards, recovered, s=4, alpha=0.4)
    left.set_xlabel("true reward")
    left.set_ylabel("recovered reward")
    left.set_title("per transition")
    right.scatter(
        episode_sums(sample.true_rewards, sample.episode_ids),
        episode_sums(recovered, sample.episode_ids),
        s=12,
    )
    right.set_xlabel("true return")
    right.set_ylabel("recovered return")
    right.set_title("per episode")
    return save_figure(fig, path, title)
