"""Evaluate anything with a ``predict`` method in a gymnasium environment."""

from __future__ import annotations

from typing import Any, Protocol

import gymnasium as gym
import numpy as np

__all__ = ["Predictor", "evaluate_policy"]


class Predictor(Protocol):
    """What a policy needs for evaluation: d3rlpy algorithms satisfy it."""

    def predict(self, x: Any) -> np.ndarray:
        """Return the greedy actions for a batch of observations ``x``."""
        ...


def evaluate_policy(
    policy: Predictor, env: gym.Env[Any, Any], n_episodes: int = 10, seed: int = 0
) -> np.ndarray:
    """Undiscounted returns of ``n_episodes`` greedy episodes (reset seeds ``seed + i``)."""
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    returns = np.zeros(n_episodes)
    for i in range(n_episodes):
        observation, _ = env.reset(seed=seed + i)
        done, total = False, 0.0
        while not done:
            action = policy.predict(np.asarray(observation, dtype=np.float32)[None])[0]
            observation, reward, terminated, truncated, _ = env.step(
                int(action) if discrete else action
            )
            total += float(reward)
            done = terminated or truncated
        returns[i] = total
    return returns
