"""Random GridWorlds with random soft-optimal experts: held-out maps for reward recovery.

:func:`random_gridworld` turns a seed into one task; every draw comes from
``numpy.random.default_rng([seed, 0])``, so a seed always gives the same task:

* **size** uniform in ``5..8`` (a ``size x size`` :class:`~offline_iq.envs.gridworld.GridWorldEnv`,
  episodes of ``4 * size`` steps, as the shipped 5x5 (20) and 10x10 (40) grids).
* **reward map**: sparse, like the shipped maps and IQ-Learn's Figure 4. ``2..5`` distinct
  cells (uniform count and positions) get a reward of magnitude uniform in ``[0.25, 1]``; the
  first is a goal (positive), each other one is negative (a penalty) with probability 1/3;
  every other cell is 0.
* **start distribution**: a uniformly random support of ``ceil(S / 4)..S`` of the ``S`` cells
  (uniform count), with weights from a flat Dirichlet.
* **expert**: the soft-optimal policy ``softmax(Q*/T)`` of exact soft value iteration on the
  map, with discount uniform in ``[0.85, 0.95]`` and temperature log-uniform in
  ``[0.05, 0.2]`` (around the shipped expert's 0.9 and 0.1). A learner is not told either.

:meth:`RandomGridWorld.demonstrations` samples episodes of that expert (actions and reset seeds
from ``default_rng([seed, 1])``) into an in-memory
:class:`~offline_iq.data.buffer.ExpertReplayBuffer`, the type :func:`~offline_iq.load_minari`
returns, with one-hot observations as the loader encodes ``Discrete`` cells.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from offline_iq.data.buffer import DatasetMetadata, ExpertReplayBuffer
from offline_iq.data.episodes import TransitionEpisode
from offline_iq.data.spaces import actions_to_array, observations_to_array
from offline_iq.data.subset import SubsetSpec
from offline_iq.envs.gridworld import GridWorldEnv
from offline_iq.envs.soft_value_iteration import SoftOptimalPolicy, soft_value_iteration

__all__ = ["GAMMA_RANGE", "SIZES", "TEMPERATURE_RANGE", "RandomGridWorld", "random_gridworld"]

SIZES = (5, 8)  # inclusive
GAMMA_RANGE = (0.85, 0.95)
TEMPERATURE_RANGE = (0.05, 0.2)  # log-uniform
_ENTRY_POINT = "offline_iq.envs.gridworld:GridWorldEnv"


@dataclasses.dataclass(frozen=True)
class RandomGridWorld:
    """One random task: the map, its start distribution and its expert's (hidden) settings."""

    seed: int
    size: int
    reward_cells: tuple[tuple[int, int, float], ...]
    start_distribution: tuple[float, ...]
    gamma: float
    temperature: float

    @property
    def max_episode_steps(self) -> int:
        """Episode length, ``4 * size``."""
        return 4 * self.size

    def env_spec(self) -> gym.envs.registration.EnvSpec:
        """A gymnasium spec that builds this grid (with its time limit) via ``gym.make``."""
        kwargs = {
            "size": self.size,
            "reward_cells": [list(cell) for cell in self.reward_cells],
            "start_distribution": list(self.start_distribution),
        }
        return gym.envs.registration.EnvSpec(
            id=f"offline_iq/RandomGridWorld{self.seed}-v0",
            entry_point=_ENTRY_POINT,
            max_episode_steps=self.max_episode_steps,
            kwargs=kwargs,
        )

    def make_env(self) -> gym.Env[Any, Any]:
        """The grid, time-limited to :attr:`max_episode_steps`."""
        return gym.make(self.env_spec())

    def grid(self) -> GridWorldEnv:
        """The bare :class:`GridWorldEnv` (no wrappers)."""
        return GridWorldEnv(
            self.size, self.reward_cells, start_distribution=self.start_distribution
        )

    def true_rewards(self) -> NDArray[np.float64]:
        """The ``(size, size)`` state-reward map."""
        return np.array(self.grid().state_rewards)

    def soft_optimal(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(Q*, pi)`` of exact soft value iteration with the expert's gamma and temperature."""
        grid = self.grid()
        q, _, policy = soft_value_iteration(
            grid.transition_matrix(), grid.reward_vector(), self.gamma, self.temperature
        )
        return q, policy

    def expert(self, seed: int = 0) -> SoftOptimalPolicy:
        """The soft-optimal expert, sampling its actions with ``seed``."""
        return SoftOptimalPolicy(
            self.soft_optimal()[1],
            seed,
            name=f"random-gridworld{self.seed}-soft-optimal",
            description=(
                f"softmax(Q*/T) of random GridWorld {self.seed} ({self.size}x{self.size}, "
                f"gamma={self.gamma:.3f}, T={self.temperature:.3f})"
            ),
        )

    def demonstrations(self, n_episodes: int = 30) -> ExpertReplayBuffer:
        """``n_episodes`` expert episodes as a replay buffer (see the module docstring)."""
        rng = np.random.default_rng([self.seed, 1])
        expert = self.expert(int(rng.integers(2**31)))
        env = self.make_env()
        episodes = []
        try:
            for episode_id in range(n_episodes):
                obs, _ = env.reset(seed=int(rng.integers(2**31)))
                states, actions, rewards = [int(obs)], [], []
                truncated = False
                while not truncated:
                    action = expert(obs)
                    obs, reward, terminated, truncated, _ = env.step(action)
                    if terminated:
                        raise AssertionError("a GridWorld never terminates")
                    states.append(int(obs))
                    actions.append(action)
                    rewards.append(float(reward))
                episodes.append(self._episode(env, episode_id, states, actions, rewards))
        finally:
            env.close()
        metadata = DatasetMetadata(
            dataset_id=f"random-gridworld/seed-{self.seed}",
            data_path="",
            env_spec=self.env_spec(),
            eval_env_spec=None,
            observation_space=env.observation_space,
            action_space=env.action_space,
            ref_min_score=None,
            ref_max_score=None,
            source_episodes=n_episodes,
            source_steps=sum(ep.size() for ep in episodes),
            subset=SubsetSpec(
                episode_positions=tuple(range(n_episodes)),
                offsets=tuple(0 for _ in range(n_episodes)),
                subsample=1,
                seed=self.seed,
            ),
            minari_metadata={},
        )
        return ExpertReplayBuffer(episodes, metadata)

    @staticmethod
    def _episode(
        env: gym.Env[Any, Any],
        episode_id: int,
        states: list[int],
        actions: list[int],
        rewards: list[float],
    ) -> TransitionEpisode:
        observations = observations_to_array(env.observation_space, states)
        n_steps = len(actions)
        return TransitionEpisode(
            observations=observations[:-1],
            actions=actions_to_array(env.action_space, actions),
            rewards=np.asarray(rewards, dtype=np.float32).reshape(-1, 1),
            next_observations=observations[1:],
            terminals=np.zeros((n_steps, 1), dtype=np.float32),
            timesteps=np.arange(n_steps, dtype=np.int64),
            initial_observation=observations[0],
            episode_id=episode_id,
            terminated=False,
            episode_length=n_steps,
            episode_return=float(sum(rewards)),
        )


def random_gridworld(seed: int) -> RandomGridWorld:
    """The random task of ``seed`` (distribution in the module docstring)."""
    rng = np.random.default_rng([int(seed), 0])
    size = int(rng.integers(SIZES[0], SIZES[1] + 1))
    n_states = size * size
    n_cells = int(rng.integers(2, 6))
    cells = rng.choice(n_states, size=n_cells, replace=False)
    magnitudes = rng.uniform(0.25, 1.0, size=n_cells)
    signs = np.where(rng.random(n_cells) < 1.0 / 3.0, -1.0, 1.0)
    signs[0] = 1.0  # at least one goal
    reward_cells = tuple(
        (int(c) // size, int(c) % size, round(float(s * m), 4))
        for c, s, m in zip(cells, signs, magnitudes, strict=True)
    )
    n_support = int(rng.integers(math.ceil(n_states / 4), n_states + 1))
    support = rng.choice(n_states, size=n_support, replace=False)
    start = np.zeros(n_states)
    start[support] = rng.dirichlet(np.ones(n_support))
    gamma = float(rng.uniform(*GAMMA_RANGE))
    low, high = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    temperature = float(np.exp(rng.uniform(low, high)))
    return RandomGridWorld(
        seed=int(seed),
        size=size,
        reward_cells=reward_cells,
        start_distribution=tuple(float(p) for p in start),
        gamma=gamma,
        temperature=temperature,
    )
