r"""Episode-clustered bootstrap, and correlations of weighted samples.

Transitions of one episode are not independent (the state, and so the reward, drifts slowly), so
a confidence interval that resamples transitions is too narrow. We resample whole *episodes*
with replacement. A resample is then a vector of multiplicities :math:`w_e` (how often episode
:math:`e` was drawn), and every statistic here is a function of those multiplicities: the
statistic of the resample equals the statistic of the original rows weighted by :math:`w`
(each transition counted as often as its episode was drawn). One vectorised call evaluates a
batch of resamples, and the point estimate is the same function at :math:`w = 1`.

:func:`clustered_ci` draws the episode indices through :func:`scipy.stats.bootstrap` (the data
it resamples are the episode indices ``0..E-1``), which gives the BCa interval (Efron, 1987)
with its jackknife (leave one episode out) acceleration.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats

__all__ = [
    "MAX_EPISODES_FOR_BCA",
    "MIN_EPISODES_FOR_CI",
    "RankPlan",
    "clustered_ci",
    "episode_weights",
    "expanded_level",
    "row_ranks",
    "weighted_partial",
    "weighted_pearson",
]

MIN_EPISODES_FOR_CI = 5  # fewer clusters than this give no meaningful bootstrap interval
MAX_EPISODES_FOR_BCA = 200  # beyond, the percentile interval (BCa's jackknife costs E statistics)
_CELLS_PER_BATCH = 2_000_000  # resamples x rows evaluated at once

Statistic = Callable[[np.ndarray], np.ndarray]  # multiplicities (B, E) -> statistic (B,)


def episode_weights(indices: np.ndarray, n_episodes: int) -> np.ndarray:
    """Multiplicities ``(rows, n_episodes)`` of each row of episode indices ``(..., m)``."""
    idx = np.asarray(indices, dtype=np.int64)
    flat = idx.reshape(-1, idx.shape[-1])
    offset = flat + n_episodes * np.arange(len(flat))[:, None]
    counts = np.bincount(offset.ravel(), minlength=len(flat) * n_episodes)
    return counts.reshape(len(flat), n_episodes).astype(float)


def _centred(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    x = np.broadcast_to(x, w.shape)
    mean = np.einsum("bn,bn->b", w, x) / w.sum(axis=-1)
    return x - mean[:, None]


def _wdot(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("bn,bn,bn->b", w, a, b)


def weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``x`` and ``y`` with row weights ``w`` (``(B, N)``), per row of
    ``w``; ``nan`` where either has no spread."""
    dx, dy = _centred(x, w), _centred(y, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = _wdot(w, dx, dy) / np.sqrt(_wdot(w, dx, dx) * _wdot(w, dy, dy))
    return np.clip(r, -1.0, 1.0)


def weighted_partial(x: np.ndarray, y: np.ndarray, z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Partial correlation of ``x`` and ``y`` given ``z``: the correlation of their residuals
    after a weighted least-squares fit on ``(1, z)``. A ``z`` without spread is only centred."""
    dx, dy, dz = _centred(x, w), _centred(y, w), _centred(z, w)
    szz = _wdot(w, dz, dz)[:, None]
    safe = np.where(szz > 1e-12 * (1 + np.abs(dz).max()) ** 2, szz, np.inf)
    ex = dx - dz * _wdot(w, dx, dz)[:, None] / safe
    ey = dy - dz * _wdot(w, dy, dz)[:, None] / safe
    return weighted_pearson(ex, ey, w)


class RankPlan:
    """Average ranks of fixed ``values`` in any weighted resample of them.

    A value drawn ``k`` times occupies ``k`` positions of the sorted resample; tied values share
    the mean of the positions their group occupies: ``below + (count + 1) / 2``, where ``below``
    is the weight of the smaller values. The sort is done once, here.
    """

    def __init__(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=float)
        self.order = np.argsort(v, kind="stable")
        ordered = v[self.order]
        new_group = np.concatenate([[True], ordered[1:] != ordered[:-1]])
        self.starts = np.flatnonzero(new_group)
        group_sorted = np.cumsum(new_group) - 1
        self.group = np.empty(len(v), dtype=np.int64)
        self.group[self.order] = group_sorted

    def ranks(self, w: np.ndarray) -> np.ndarray:
        """Ranks ``(B, N)`` in the resample of weights ``w`` (``(B, N)``)."""
        count = np.take(w, self.order, axis=1)
        if len(self.starts) < len(self.order):  # ties: one count per group of equal values
            count = np.add.reduceat(count, self.starts, axis=1)
        below = np.cumsum(count, axis=1) - count
        return np.take(below + (count + 1) / 2, self.group, axis=1)


def row_ranks(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted average ranks, like :class:`RankPlan`, of values that differ per row
    (``values`` and ``w`` both ``(B, N)``)."""
    rows, n = values.shape
    order = np.argsort(values, axis=1)  # ties are grouped below: no need for a stable sort
    flat = (order + n * np.arange(rows)[:, None]).ravel()
    ordered, count = values.ravel()[flat].reshape(rows, n), w.ravel()[flat]
    new_group = np.ones_like(ordered, dtype=bool)
    new_group[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    if new_group.all():  # no ties: each value is its own group
        sorted_ranks = np.cumsum(count.reshape(rows, n), axis=1).ravel() - (count - 1) / 2
    else:
        group = (np.cumsum(new_group, axis=1) - 1 + n * np.arange(rows)[:, None]).ravel()
        count = np.bincount(group, weights=count, minlength=rows * n)
        below = np.cumsum(count.reshape(rows, n), axis=1).ravel() - count
        sorted_ranks = (below + (count + 1) / 2)[group]
    ranks = np.empty(rows * n)
    ranks[flat] = sorted_ranks
    return ranks.reshape(rows, n)


def expanded_level(confidence: float, n_clusters: int) -> float:
    """The nominal level that gives ``confidence`` with ``n_clusters`` clusters: bootstrap
    intervals are too narrow for few clusters (the resampled spread is the plug-in one, with
    ``n`` rather than ``n - 1``, and normal rather than t tails), so take the quantiles at
    ``Phi(sqrt(n / (n - 1)) t_{n-1}(alpha / 2))`` (Hesterberg's expanded percentile interval)."""
    alpha = 1 - confidence
    t = stats.t.ppf(alpha / 2, n_clusters - 1)
    return float(1 - 2 * stats.norm.cdf(np.sqrt(n_clusters / (n_clusters - 1)) * t))


def clustered_ci(
    statistic: Statistic,
    n_episodes: int,
    rows_per_resample: int,
    *,
    n_resamples: int,
    seed: int,
    confidence: float = 0.95,
) -> tuple[float | None, float | None, str]:
    """BCa interval (percentile beyond ``MAX_EPISODES_FOR_BCA`` episodes) of ``statistic`` (a
    function of episode multiplicities, see the module docstring) over ``n_resamples``
    resamples of ``n_episodes`` episodes, at the level
    :func:`expanded_level` gives for ``confidence``; returns
    ``(low, high, note)``. Resamples where the statistic is undefined (e.g. no spread) are
    dropped and counted in ``note``; BCa falls back to the percentile interval when its
    jackknife is undefined."""
    if n_episodes < MIN_EPISODES_FOR_CI:
        return None, None, f"{n_episodes} episodes: too few for an episode-resampling CI"
    level = expanded_level(confidence, n_episodes)

    def of_indices(indices: np.ndarray, axis: int = -1) -> np.ndarray:
        weights = episode_weights(indices, n_episodes)
        return statistic(weights).reshape(np.shape(indices)[:-1])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate or nan distributions are handled below
        result = stats.bootstrap(
            (np.arange(n_episodes),),
            of_indices,
            n_resamples=n_resamples,
            batch=max(1, _CELLS_PER_BATCH // max(rows_per_resample, n_episodes)),
            vectorized=True,
            confidence_level=level,
            method="BCa" if n_episodes <= MAX_EPISODES_FOR_BCA else "percentile",
            rng=np.random.default_rng(seed),
        )
    low, high = result.confidence_interval
    if np.isfinite(low) and np.isfinite(high):
        return float(low), float(high), ""
    draws = np.asarray(result.bootstrap_distribution, dtype=float)
    finite = draws[np.isfinite(draws)]
    if len(finite) < 0.5 * len(draws):
        return None, None, "undefined in most episode resamples: no CI"
    tail = 50 * (1 - level)
    low, high = np.percentile(finite, [tail, 100 - tail])
    dropped = len(draws) - len(finite)
    note = f"percentile CI; {dropped} of {len(draws)} resamples undefined" if dropped else ""
    return float(low), float(high), note or "percentile CI (BCa undefined)"
