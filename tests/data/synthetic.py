"""Write small Minari datasets whose every value says where it belongs.

Observation of episode ``k`` at step ``t`` is ``[k, t, k * 100 + t]``; the action at step ``t``
encodes the same pair (continuous: ``[k, t]``; discrete: ``(k + t) % n``), the reward is
``k + t / 1000``. A loader that shifts, drops or mixes transitions cannot pass the checks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import minari
import numpy as np
from minari.data_collector.episode_buffer import EpisodeBuffer

OBS_SPACE = gym.spaces.Box(-1e6, 1e6, shape=(3,), dtype=np.float32)
CONTINUOUS_ACTIONS = gym.spaces.Box(-1e6, 1e6, shape=(2,), dtype=np.float32)
N_DISCRETE = 3
DISCRETE_ACTIONS = gym.spaces.Discrete(N_DISCRETE)


@dataclasses.dataclass(frozen=True)
class EpisodeSpec:
    length: int
    terminated: bool  # else truncated


def observation(k: int, t: int) -> np.ndarray:
    return np.array([k, t, k * 100 + t], dtype=np.float32)


def action(k: int, t: int, discrete: bool) -> Any:
    return (k + t) % N_DISCRETE if discrete else np.array([k, t], dtype=np.float32)


def reward(k: int, t: int) -> float:
    return k + t / 1000.0


def episode_buffer(k: int, spec: EpisodeSpec, discrete: bool) -> EpisodeBuffer:
    T = spec.length
    actions = [action(k, t, discrete) for t in range(T)]
    return EpisodeBuffer(
        id=k,
        observations=np.stack([observation(k, t) for t in range(T + 1)]),
        actions=np.array(actions, dtype=np.int64) if discrete else np.stack(actions),
        rewards=[reward(k, t) for t in range(T)],
        terminations=[spec.terminated and t == T - 1 for t in range(T)],
        truncations=[(not spec.terminated) and t == T - 1 for t in range(T)],
        infos={},
    )


_QUIET = {"description": "synthetic", "eval_env": "CartPole-v1", "env": "CartPole-v1"}


def write_dataset(
    dataset_id: str,
    specs: Sequence[EpisodeSpec],
    *,
    discrete: bool = False,
    **kwargs: Any,
) -> minari.MinariDataset:
    """Create ``dataset_id`` in the current ``MINARI_DATASETS_PATH``."""
    buffers = [episode_buffer(k, spec, discrete) for k, spec in enumerate(specs)]
    return minari.create_dataset_from_buffers(
        dataset_id,
        buffers,
        observation_space=OBS_SPACE,
        action_space=DISCRETE_ACTIONS if discrete else CONTINUOUS_ACTIONS,
        **{**_QUIET, **kwargs},
    )
