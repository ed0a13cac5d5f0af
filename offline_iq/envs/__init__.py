"""Tabular environments for reward-recovery experiments; importing this registers them.

``offline_iq/GridWorld-v0`` is the 5x5 grid rewarding three corners (20 steps) and
``offline_iq/GridWorld10x10-v0`` the 10x10 grid with a richer reward map (40 steps); see
:mod:`offline_iq.envs.gridworld`.
"""

from __future__ import annotations

import gymnasium as gym

from offline_iq.envs.gridworld import GridWorldEnv, make_gridworld_expert
from offline_iq.envs.soft_value_iteration import SoftOptimalPolicy, soft_value_iteration

__all__ = [
    "GRIDWORLD_10X10_ID",
    "GRIDWORLD_ENV_IDS",
    "GRIDWORLD_ID",
    "GridWorldEnv",
    "SoftOptimalPolicy",
    "make_gridworld_expert",
    "register_envs",
    "soft_value_iteration",
]

GRIDWORLD_ID = "offline_iq/GridWorld-v0"
GRIDWORLD_10X10_ID = "offline_iq/GridWorld10x10-v0"
GRIDWORLD_ENV_IDS = (GRIDWORLD_ID, GRIDWORLD_10X10_ID)

_REGISTRATIONS = (
    (GRIDWORLD_ID, {"size": 5}, 20),
    (GRIDWORLD_10X10_ID, {"size": 10}, 40),
)


def register_envs() -> None:
    """Register the GridWorld ids with gymnasium; ids already registered are left alone."""
    for env_id, kwargs, max_steps in _REGISTRATIONS:
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point="offline_iq.envs.gridworld:GridWorldEnv",
                max_episode_steps=max_steps,
                kwargs=kwargs,
            )


register_envs()
