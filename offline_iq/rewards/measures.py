"""The correlations of the reward report, each as a function of episode multiplicities.

A :class:`Measure` holds a Pearson and a Spearman statistic mapping episode multiplicities
``(B, E)`` to ``B`` correlations (:mod:`offline_iq.rewards.bootstrap`); at ``w = 1`` they give
the correlation of the sample itself.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from offline_iq.rewards.bootstrap import RankPlan, Statistic, weighted_partial, weighted_pearson
from offline_iq.rewards.shaping import CrossFittedShaping

__all__ = [
    "EPISODE_MEAN",
    "EPISODE_PARTIAL",
    "EPISODE_SUM",
    "SHAPING",
    "TRANSITION",
    "Measure",
    "episode_codes",
    "episode_measures",
    "shaping_measures",
    "transition_measures",
]

TRANSITION = "transition"
SHAPING = "transition, shaping removed"
EPISODE_SUM = "episode sum"
EPISODE_MEAN = "episode mean"
EPISODE_PARTIAL = "episode sum given length"


@dataclasses.dataclass(frozen=True)
class Measure:
    """One level of the report: its statistics, its number of points, and why it is undefined
    (empty when defined)."""

    level: str
    n: int
    pearson: Statistic
    spearman: Statistic
    undefined: str = ""
    undefined_value: str = "undefined: no spread"  # the note when the value itself is nan


def episode_codes(episode_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's episode as ``0..E-1`` in order of first appearance, and the episode lengths."""
    _, first, inverse = np.unique(episode_ids, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    codes = rank[inverse.ravel()]
    return codes, np.bincount(codes, minlength=len(first))


def _undefined(recovered: np.ndarray, true: np.ndarray, what: str = "reward") -> str:
    if len(true) < 3:
        return f"only {len(true)} values: a correlation needs at least 3"
    if np.ptp(true) == 0:
        return (
            f"the true {what} is constant ({true[0]:g} everywhere): it carries no signal to "
            "correlate with"
        )
    if np.ptp(recovered) == 0:
        return f"the recovered {what} is constant: a correlation is undefined"
    return ""


def _pair(x: np.ndarray, y: np.ndarray, codes: np.ndarray | None) -> tuple[Statistic, Statistic]:
    """Pearson and Spearman of ``x`` and ``y``, rows grouped by ``codes`` (None: one row per
    episode)."""
    rank_x, rank_y = RankPlan(x), RankPlan(y)

    def rows(weights: np.ndarray) -> np.ndarray:
        return weights if codes is None else np.take(weights, codes, axis=1)

    def pearson(weights: np.ndarray) -> np.ndarray:
        return weighted_pearson(x, y, rows(weights))

    def spearman(weights: np.ndarray) -> np.ndarray:
        w = rows(weights)
        return weighted_pearson(rank_x.ranks(w), rank_y.ranks(w), w)

    return pearson, spearman


def transition_measures(x: np.ndarray, y: np.ndarray, codes: np.ndarray) -> Measure:
    """Recovered ``x`` against true ``y``, one point per transition."""
    return Measure(TRANSITION, len(x), *_pair(x, y, codes), undefined=_undefined(x, y))


def shaping_measures(shaping: CrossFittedShaping, y: np.ndarray) -> Measure:
    """The recovered reward, shaping removed, against the true ``y`` (refitted per resample)."""
    adjusted = shaping.adjusted()
    note = _undefined(adjusted, y)
    if len(shaping.counts) < 2:  # one episode, split by transitions: no resampling anyway
        return Measure(SHAPING, len(y), *_pair(adjusted, y, shaping.codes), undefined=note)
    return Measure(SHAPING, len(y), shaping.pearson, shaping.spearman, undefined=note)


def episode_measures(
    x: np.ndarray, y: np.ndarray, codes: np.ndarray, lengths: np.ndarray
) -> list[Measure]:
    """Per-episode sums (the paper's measure), means per step, and sums given length."""
    e = len(lengths)
    sum_x, sum_y = np.bincount(codes, x, e), np.bincount(codes, y, e)
    mean_x, mean_y = sum_x / lengths, sum_y / lengths
    return [
        Measure(
            EPISODE_SUM,
            e,
            *_pair(sum_x, sum_y, None),
            undefined=_undefined(sum_x, sum_y, "episode sum"),
        ),
        Measure(
            EPISODE_MEAN,
            e,
            *_pair(mean_x, mean_y, None),
            undefined=_undefined(mean_x, mean_y, "mean reward per step"),
        ),
        _partial(sum_x, sum_y, lengths.astype(float)),
    ]


def _partial(x: np.ndarray, y: np.ndarray, length: np.ndarray) -> Measure:
    ranks = [RankPlan(v) for v in (x, y, length)]

    def pearson(weights: np.ndarray) -> np.ndarray:
        return weighted_partial(x, y, length, weights)

    def spearman(weights: np.ndarray) -> np.ndarray:
        rx, ry, rl = (plan.ranks(weights) for plan in ranks)
        return weighted_partial(rx, ry, rl, weights)

    design = np.column_stack([np.ones_like(length), length])
    residual = [v - design @ np.linalg.lstsq(design, v, rcond=None)[0] for v in (x, y)]
    note = _undefined(residual[0], residual[1], "episode sum given length")
    scale = [1e-9 * (1 + np.ptp(v)) for v in (x, y)]
    if not note and np.ptp(residual[1]) <= scale[1]:
        note = (
            "the true episode sum is linear in the length: nothing is left once length is "
            "controlled"
        )
    elif not note and np.ptp(residual[0]) <= scale[0]:
        note = "the recovered episode sum is linear in the length"
    return Measure(
        EPISODE_PARTIAL,
        len(x),
        pearson,
        spearman,
        undefined=note,
        undefined_value="a sum ranks exactly as the lengths: nothing is left once length is "
        "controlled",
    )
