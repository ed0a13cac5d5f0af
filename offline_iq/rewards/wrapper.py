"""A gymnasium wrapper that replaces the environment's reward with a recovered one."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from offline_iq.rewards.recovered import RecoveredReward

__all__ = ["RecoveredRewardWrapper"]


class RecoveredRewardWrapper(gym.Wrapper[Any, Any, Any, Any]):
    """Returns ``r(s, a, s')`` from ``reward``; the environment's own reward is kept in
    ``info["true_reward"]``. Train any agent on the wrapped env to close the inverse-RL loop.
    """

    def __init__(self, env: gym.Env[Any, Any], reward: RecoveredReward) -> None:
        super().__init__(env)
        self.reward = reward
        self._obs: Any = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the environment and remember the first observation for the next ``step``."""
        obs, info = self.env.reset(**kwargs)
        self._obs = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the environment and return the recovered ``r(s, a, s')`` as the reward.

        The environment's own reward goes to ``info["true_reward"]``.
        """
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        obs, true_reward, terminated, truncated, info = self.env.step(action)
        act = np.asarray(action)[None]
        recovered = self.reward.predict(
            np.asarray(self._obs, dtype=np.float32)[None],
            act,
            np.asarray(obs, dtype=np.float32)[None],
            np.array([float(terminated)]),
        )[0]
        info = {**info, "true_reward": float(true_reward)}
        self._obs = obs
        return obs, float(recovered), terminated, truncated, info
