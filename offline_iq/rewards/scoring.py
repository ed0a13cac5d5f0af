r"""How well a recovered reward matches the true one.

Every row is a **Pearson** (the paper's measure, sec. 7.4) or **Spearman** correlation with a
95% confidence interval from an **episode-clustered bootstrap**: whole episodes are resampled
with replacement and the statistic recomputed (BCa interval; :mod:`offline_iq.rewards.bootstrap`).
Transitions of one episode are correlated, so intervals that treat them as independent are far
too narrow.

Levels:

* ``transition``: one point per transition.
* ``transition, shaping removed``: the recovered reward less its best cross-fitted
  potential-shaping term (:mod:`offline_iq.rewards.shaping`); every resample refits the
  potential, so the interval accounts for the fit. We prefer this to EPIC canonicalisation,
  which needs the *true* reward at off-data transitions that a logged dataset does not give.
* ``episode sum``: the reward summed over each episode (the paper's measure, as its reference
  evaluation computes it). *Caveat*: totals grow with episode length, so with an alive bonus or
  a per-step cost and varying lengths this correlates lengths, not rewards.
* ``episode mean``: each episode's mean reward per step.
* ``episode sum given length``: the partial correlation of the sums given the length (both
  residualised on ``(1, length)`` by least squares; Spearman: the same on ranks).

:attr:`RewardReport.length_confounded` is set when lengths vary and the sum correlation lies
outside the interval of a length-controlled row (or none is defined).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from offline_iq.rewards.bootstrap import clustered_ci
from offline_iq.rewards.measures import (
    EPISODE_MEAN,
    EPISODE_PARTIAL,
    EPISODE_SUM,
    SHAPING,
    TRANSITION,
    Measure,
    episode_codes,
    episode_measures,
    shaping_measures,
    transition_measures,
)
from offline_iq.rewards.shaping import CrossFittedShaping

__all__ = [
    "EPISODE_MEAN",
    "EPISODE_PARTIAL",
    "EPISODE_SUM",
    "SHAPING",
    "TRANSITION",
    "Correlation",
    "RewardReport",
    "correlations",
    "episode_sums",
    "remove_best_shaping",
    "score_rewards",
]


@dataclasses.dataclass(frozen=True)
class Correlation:
    """One correlation; ``value`` is ``None`` (with ``note`` saying why) when undefined."""

    method: str  # "pearson" | "spearman"
    level: str  # one of the levels of the module docstring
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int  # points correlated (transitions or episodes)
    note: str = ""

    def describe(self) -> str:
        """Return ``value`` and its 95% CI, e.g. ``0.912 [0.880, 0.936]``, or ``note`` if None."""
        if self.value is None:
            return self.note
        ci = "" if self.ci_low is None else f" [{self.ci_low:.3f}, {self.ci_high:.3f}]"
        extra = f" ({self.note})" if self.note else ""
        return f"{self.value:.3f}{ci}{extra}"

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies inside the CI (``False`` without one)."""
        return (
            self.ci_low is not None
            and self.ci_high is not None
            and (self.ci_low <= value <= self.ci_high)
        )


@dataclasses.dataclass(frozen=True)
class RewardReport:
    """The rows of :func:`score_rewards` (iterable like a list of :class:`Correlation`), the
    length check, and notes in words."""

    rows: tuple[Correlation, ...]
    n_episodes: int
    length_cv: float  # coefficient of variation of the episode lengths
    length_confounded: bool
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Correlation]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> Correlation:
        return self.rows[index]

    def row(self, level: str, method: str = "pearson") -> Correlation:
        """The row of ``level`` and ``method``."""
        for row in self.rows:
            if row.level == level and row.method == method:
                return row
        raise KeyError(f"no {method} row at level {level!r}")


def _rows(
    measure: Measure, n_episodes: int, n_rows: int, n_resamples: int, seed: int
) -> list[Correlation]:
    if measure.undefined:
        return [
            Correlation(m, measure.level, None, None, None, measure.n, measure.undefined)
            for m in ("pearson", "spearman")
        ]
    out = []
    ones = np.ones((1, n_episodes))
    for method, statistic in (("pearson", measure.pearson), ("spearman", measure.spearman)):
        value = float(statistic(ones)[0])
        if not np.isfinite(value):
            out.append(
                Correlation(
                    method, measure.level, None, None, None, measure.n, measure.undefined_value
                )
            )
            continue
        low, high, note = clustered_ci(
            statistic, n_episodes, n_rows, n_resamples=n_resamples, seed=seed
        )
        out.append(Correlation(method, measure.level, value, low, high, measure.n, note))
    return out


def correlations(
    recovered: np.ndarray,
    true: np.ndarray,
    level: str,
    episode_ids: np.ndarray | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> list[Correlation]:
    """Pearson and Spearman correlation of two equally long vectors, with 95% CIs resampling
    ``episode_ids``'s episodes (default: every value on its own, i.e. independent values)."""
    x, y = np.asarray(recovered, dtype=float).ravel(), np.asarray(true, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"recovered has {x.size} values, true has {y.size}")
    ids = np.arange(x.size) if episode_ids is None else np.asarray(episode_ids)
    codes, lengths = episode_codes(ids)
    measure = transition_measures(x, y, codes)
    return _rows(dataclasses.replace(measure, level=level), len(lengths), x.size, n_resamples, seed)


def episode_sums(values: np.ndarray, episode_ids: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each episode, in order of first appearance."""
    codes, lengths = episode_codes(np.asarray(episode_ids))
    return np.bincount(codes, weights=np.asarray(values, dtype=float), minlength=len(lengths))


def remove_best_shaping(
    recovered: np.ndarray,
    true: np.ndarray,
    observations: np.ndarray,
    next_observations: np.ndarray,
    terminals: np.ndarray,
    episode_ids: np.ndarray,
    gamma: float,
    *,
    degree: int = 2,
    seed: int = 0,
) -> np.ndarray:
    """``recovered`` minus its cross-fitted best potential-shaping component
    (:mod:`offline_iq.rewards.shaping`)."""
    codes, _ = episode_codes(np.asarray(episode_ids))
    return CrossFittedShaping(
        recovered,
        true,
        observations,
        next_observations,
        terminals,
        codes,
        gamma,
        degree=degree,
        seed=seed,
    ).adjusted()


def score_rewards(
    recovered: np.ndarray,
    true: np.ndarray,
    episode_ids: np.ndarray,
    *,
    observations: np.ndarray | None = None,
    next_observations: np.ndarray | None = None,
    terminals: np.ndarray | None = None,
    gamma: float = 0.99,
    n_resamples: int = 1000,
    seed: int = 0,
) -> RewardReport:
    """Every correlation of the report (module docstring), with episode-bootstrap CIs drawn
    from ``seed``; shaping removal needs the observations, next observations and terminals."""
    x, y = np.asarray(recovered, dtype=float).ravel(), np.asarray(true, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"recovered has {x.size} values, true has {y.size}")
    codes, lengths = episode_codes(np.asarray(episode_ids))
    measures = [transition_measures(x, y, codes)]
    if observations is not None and next_observations is not None and terminals is not None:
        shaping = CrossFittedShaping(
            x, y, observations, next_observations, terminals, codes, gamma, seed=seed
        )
        measures.append(shaping_measures(shaping, y))
    measures += episode_measures(x, y, codes, lengths)
    rows = [
        row
        for measure in measures
        for row in _rows(measure, len(lengths), x.size, n_resamples, seed)
    ]
    confounded, notes = _length_check(rows, lengths)
    cv = float(lengths.std() / lengths.mean())
    return RewardReport(tuple(rows), len(lengths), cv, confounded, notes)


def _length_check(rows: list[Correlation], lengths: np.ndarray) -> tuple[bool, tuple[str, ...]]:
    by = {(r.level, r.method): r for r in rows}
    total = by[(EPISODE_SUM, "pearson")]
    if len(np.unique(lengths)) < 2:
        return False, (
            f"every episode has {lengths[0]} steps: episode sums are not confounded by length",
        )
    cv = lengths.std() / lengths.mean()
    controlled = [by[(level, "pearson")] for level in (EPISODE_MEAN, EPISODE_PARTIAL)]
    defined = [r for r in controlled if r.value is not None]
    if total.value is None:
        return False, (f"episode lengths vary (CV {cv:.2f})",)
    confounded = not defined or any(not r.covers(total.value) for r in defined)
    if not confounded:
        return False, (
            f"episode lengths vary (CV {cv:.2f}); the episode-sum Pearson lies inside "
            "the length-controlled CIs",
        )
    return True, (
        f"LENGTH CONFOUNDED: episode lengths vary (CV {cv:.2f}) and the episode-sum Pearson "
        f"(the paper's measure, {total.value:.3f}) lies outside the CI of the length-controlled "
        "rows (episode mean, episode sum given length) or they are undefined: it measures "
        "episode length more than the reward.",
    )
