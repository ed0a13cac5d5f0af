"""Logged (non-expert) behaviour: the epsilon-noisy expert, its calibration, mixtures, seed checks.

* :class:`MediumPolicy` acts like the expert except that, with probability ``epsilon`` per step,
  it takes a uniformly random action instead (the expert still sees every observation).
* :func:`calibrate_epsilon` bisects ``epsilon`` on the reference seeds so the policy's normalised
  score ``(return - ref_min) / (ref_max - ref_min)`` is near a target (0.5 for ``medium-v0``).
* :func:`parse_mix` reads ``random=20,medium=20,expert=10`` for ``mixed`` datasets.
* :func:`check_seeds_disjoint` refuses episode seeds that clash with reserved seed ranges.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from offline_iq.experts.controllers import make_random_policy, rollout_returns
from offline_iq.experts.policy_base import Action, ExpertPolicy, Observation

__all__ = [
    "MIX_SOURCES",
    "Calibration",
    "MediumPolicy",
    "SeedRange",
    "calibrate_epsilon",
    "check_epsilon",
    "check_seeds_disjoint",
    "normalised_score",
    "parse_mix",
]

MIX_SOURCES = ("random", "medium", "expert")


def check_epsilon(epsilon: float) -> float:
    """Return ``epsilon`` as a float, or raise ``ValueError`` unless it lies in [0, 1]."""
    value = float(epsilon)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}")
    return value


def normalised_score(mean_return: float, ref_min: float, ref_max: float) -> float:
    """Minari's normalisation: 0 for the random policy, 1 for the expert."""
    if ref_max == ref_min:
        raise ValueError(f"ref_max_score equals ref_min_score ({ref_max}): cannot normalise")
    return (float(mean_return) - ref_min) / (ref_max - ref_min)


class MediumPolicy:
    """The expert, except that each step is, with probability ``epsilon``, a uniform random action.

    The coin flips come from ``default_rng([seed, 1])`` and the random actions from
    :func:`~offline_iq.experts.controllers.make_random_policy` with ``seed``, so ``epsilon = 1``
    reproduces the random policy's action stream exactly and ``epsilon = 0`` the expert's. The
    expert is queried on every step (stateful controllers see the whole episode).
    """

    def __init__(
        self,
        expert: ExpertPolicy,
        action_space: gym.spaces.Space[Any],
        epsilon: float,
        seed: int,
    ) -> None:
        self.epsilon = check_epsilon(epsilon)
        self.expert = expert
        self._random = make_random_policy(action_space, seed)
        self._coin = np.random.default_rng([seed, 1])
        self.name = f"{expert.name}-epsilon-{self.epsilon:g}"
        self.description = (
            f"{expert.name} taking, with probability {self.epsilon:g} per step, a uniformly "
            f"random action instead of its own. Expert: {expert.description}"
        )

    def reset(self) -> None:
        """Reset the expert (the generators keep their streams across episodes)."""
        self.expert.reset()

    def __call__(self, observation: Observation) -> Action:
        action = self.expert(observation)
        if self._coin.random() < self.epsilon:
            return self._random(observation)
        return action


@dataclasses.dataclass(frozen=True)
class Calibration:
    """The chosen ``epsilon``, its measured normalised score, and every evaluated point."""

    epsilon: float
    score: float
    mean_return: float
    target_score: float
    episodes: int
    seeds: tuple[int, int]
    table: tuple[dict[str, float], ...]

    def as_metadata(self) -> dict[str, Any]:
        """A JSON-serialisable record for the dataset's ``offline_iq`` metadata."""
        return {
            "target_score": self.target_score,
            "epsilon": self.epsilon,
            "normalised_score": self.score,
            "mean_return": self.mean_return,
            "episodes": self.episodes,
            "seeds": list(self.seeds),
            "table": [dict(row) for row in self.table],
        }


def calibrate_epsilon(
    env_id: str,
    new_expert: Callable[[], ExpertPolicy],
    ref_min: float,
    ref_max: float,
    *,
    seed: int,
    target_score: float = 0.5,
    episodes: int = 15,
    evaluations: int = 6,
    env_kwargs: Mapping[str, Any] | None = None,
) -> Calibration:
    """Bisect ``epsilon`` in [0, 1] so the :class:`MediumPolicy` scores about ``target_score``.

    Each of the ``evaluations`` points runs ``episodes`` episodes with reset seeds
    ``seed .. seed + episodes - 1`` (pass the reference seeds, never collection or evaluation
    seeds) and the policy's generators seeded with ``seed`` (common random numbers: the points
    differ only in ``epsilon``). The score is assumed to fall as ``epsilon`` grows; the evaluated
    point closest to the target is returned.
    """
    if not 0.0 <= target_score <= 1.0:
        raise ValueError(f"target_score must be in [0, 1], got {target_score!r}")
    if episodes < 1 or evaluations < 1:
        raise ValueError(f"episodes and evaluations must be >= 1, got {episodes}, {evaluations}")
    kwargs = dict(env_kwargs or {})
    probe = gym.make(env_id, **kwargs)
    space = probe.action_space
    probe.close()
    low, high = 0.0, 1.0
    table: list[dict[str, float]] = []
    for _ in range(evaluations):
        epsilon = 0.5 * (low + high)
        policy = MediumPolicy(new_expert(), space, epsilon, seed)
        mean_return = float(np.mean(rollout_returns(env_id, policy, episodes, seed, **kwargs)))
        score = normalised_score(mean_return, ref_min, ref_max)
        table.append({"epsilon": epsilon, "mean_return": mean_return, "normalised_score": score})
        if score > target_score:
            low = epsilon  # still too good: more noise
        else:
            high = epsilon
    best = min(table, key=lambda row: (abs(row["normalised_score"] - target_score), row["epsilon"]))
    return Calibration(
        epsilon=best["epsilon"],
        score=best["normalised_score"],
        mean_return=best["mean_return"],
        target_score=float(target_score),
        episodes=episodes,
        seeds=(seed, seed + episodes - 1),
        table=tuple(table),
    )


def parse_mix(text: str | Mapping[str, int]) -> dict[str, int]:
    """``"random=20,medium=20,expert=10"`` (or a mapping) -> counts per source, validated."""
    if isinstance(text, Mapping):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in text.items()]
    else:
        items = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            key, sep, number = part.partition("=")
            if not sep:
                raise ValueError(f"mix entry {part!r} is not SOURCE=COUNT (e.g. random=20)")
            try:
                items.append((key.strip(), int(number)))
            except ValueError as err:
                raise ValueError(
                    f"mix count for {key.strip()!r} is not an integer: {number!r}"
                ) from err
    counts: dict[str, int] = {}
    for name, count in items:
        if name not in MIX_SOURCES:
            raise ValueError(f"unknown mix source {name!r}; use {', '.join(MIX_SOURCES)}")
        if name in counts:
            raise ValueError(f"mix source {name!r} given twice")
        if not isinstance(count, int | np.integer) or count < 0:
            raise ValueError(f"mix count for {name!r} must be an integer >= 0, got {count!r}")
        counts[name] = int(count)
    if sum(counts.values()) < 1:
        raise ValueError(f"mix must hold at least one episode, got {text!r}")
    return {name: counts.get(name, 0) for name in MIX_SOURCES}


@dataclasses.dataclass(frozen=True)
class SeedRange:
    """Reset seeds ``first .. last`` (inclusive) reserved for ``owner``."""

    owner: str
    first: int
    last: int


def check_seeds_disjoint(seeds: Iterable[int], reserved: Iterable[SeedRange]) -> None:
    """Raise ``ValueError`` naming the clash if any of ``seeds`` lies in a ``reserved`` range."""
    values = sorted(set(int(s) for s in seeds))
    if not values:
        return
    array = np.asarray(values)
    for seed_range in reserved:
        hits = array[(array >= seed_range.first) & (array <= seed_range.last)]
        if hits.size:
            raise ValueError(
                f"episode seeds {values[0]}..{values[-1]} overlap the seeds "
                f"{seed_range.first}..{seed_range.last} of {seed_range.owner} "
                f"({hits.size} shared, first {int(hits[0])}); choose another --seed"
            )
