"""Graded rollouts: episodes of several behaviours at several quality levels.

A recovered reward is only tested across behaviours if the scored episodes differ in quality;
the expert's own episodes sit in a narrow band of returns. Each *behaviour* (the trained model,
and any others such as ``train-expert`` checkpoints of different returns) is rolled out at each
epsilon of :data:`GRADES` (the probability of a uniform random action instead of the
behaviour's), ``episodes`` episodes per level.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from offline_iq.rewards.evaluate import RewardSample, collect_rollouts

__all__ = ["GRADES", "GradedSample", "Level", "collect_graded_rollouts"]

GRADES = (0.0, 0.25, 0.5, 1.0)


@dataclasses.dataclass(frozen=True)
class Level:
    """One quality level: a behaviour with its epsilon, and the episodes rolled out at it."""

    behaviour: str
    epsilon: float
    episode_ids: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class GradedSample:
    """The rollouts of every level as one :class:`RewardSample`, and the levels."""

    sample: RewardSample
    levels: tuple[Level, ...]

    def level_table(self, recovered: np.ndarray | None = None) -> list[dict[str, Any]]:
        """Per level: episodes, mean true return, mean length, and (given the recovered reward
        of every row) the mean recovered return."""
        ids, true = self.sample.episode_ids, self.sample.true_rewards
        rows = []
        for level in self.levels:
            mask = np.isin(ids, level.episode_ids)
            row: dict[str, Any] = {
                "behaviour": level.behaviour,
                "epsilon": level.epsilon,
                "episodes": len(level.episode_ids),
                "true return": float(true[mask].sum() / len(level.episode_ids)),
                "length": float(mask.sum() / len(level.episode_ids)),
            }
            if recovered is not None:
                row["recovered return"] = float(recovered[mask].sum() / len(level.episode_ids))
            rows.append(row)
        return rows


def collect_graded_rollouts(
    behaviours: Mapping[str, Any],
    env: gym.Env[Any, Any],
    episodes: int,
    *,
    epsilons: Sequence[float] = GRADES,
    seed: int = 0,
) -> GradedSample:
    """``episodes`` rollouts of each behaviour (anything with ``predict``) at each epsilon.

    Reset seeds never repeat across levels (level ``j`` starts at ``seed + j * episodes``), and
    episode ids are unique over the whole sample.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if not behaviours:
        raise ValueError("give at least one behaviour to roll out")
    if not epsilons or any(not 0.0 <= e <= 1.0 for e in epsilons):
        raise ValueError(f"epsilons must be probabilities, got {list(epsilons)}")
    parts: list[RewardSample] = []
    levels: list[Level] = []
    offset = 0
    for name, policy in behaviours.items():
        for eps in epsilons:
            part = collect_rollouts(
                policy, env, episodes, epsilons=(float(eps),), seed=seed + offset
            )
            parts.append(dataclasses.replace(part, episode_ids=part.episode_ids + offset))
            levels.append(Level(name, float(eps), tuple(range(offset, offset + episodes))))
            offset += episodes
    sample = RewardSample(
        **{
            f.name: np.concatenate([getattr(p, f.name) for p in parts])
            for f in dataclasses.fields(RewardSample)
        }
    )
    return GradedSample(sample, tuple(levels))
