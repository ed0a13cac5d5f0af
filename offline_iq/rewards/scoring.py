r"""How well a recovered reward matches the true one.

* **Pearson** (the paper's measure, sec. 7.4) and **Spearman** correlations, per transition and
  per episode (the sum over each episode, as the reference evaluation does), each with a 95%
  confidence interval: Pearson's from scipy (Fisher z), Spearman's from the Fisher z transform
  with the Fieller-Hartley-Pearson standard error :math:`1.03 / \sqrt{n - 3}`.
* **Shaping-invariant** comparison. A reward is identified only up to potential-based shaping,
  :math:`r'(s, a, s') = r(s, a, s') + \gamma \Phi(s') - \Phi(s)` (Ng et al., 1999), which leaves
  every optimal policy unchanged but can hide an excellent reward behind a poor per-transition
  correlation. We remove the *best* shaping term from a flexible potential class: regress the
  recovered reward on the true reward together with the shaping basis
  :math:`\gamma (1 - d) f(s') - f(s)`, where :math:`f` are degree-2 polynomial features of the
  standardised state, and subtract the fitted shaping part before correlating. The fit is
  cross-fitted (fit on one half of the episodes, applied to the other) so the extra freedom
  cannot manufacture correlation. We prefer this to EPIC canonicalisation because EPIC needs
  the *true* reward at arbitrary, off-data transitions, which a logged dataset or a gymnasium
  environment does not give.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats
from sklearn.linear_model import Ridge
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

__all__ = ["Correlation", "correlations", "episode_sums", "remove_best_shaping", "score_rewards"]

_Z95 = 1.959963984540054


@dataclasses.dataclass(frozen=True)
class Correlation:
    """One correlation; ``value`` is ``None`` (with ``note`` saying why) when undefined."""

    method: str  # "pearson" | "spearman"
    level: str  # "transition" | "episode" | "transition, shaping removed"
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    note: str = ""

    def describe(self) -> str:
        """Return ``value`` and its 95% CI, e.g. ``0.912 [0.880, 0.936]``, or ``note`` if None."""
        if self.value is None:
            return self.note
        ci = "" if self.ci_low is None else f" [{self.ci_low:.3f}, {self.ci_high:.3f}]"
        return f"{self.value:.3f}{ci}"


def _undefined(recovered: np.ndarray, true: np.ndarray) -> str | None:
    if len(true) < 3:
        return f"only {len(true)} values: a correlation needs at least 3"
    if np.ptp(true) == 0:
        return (
            f"the true reward is constant ({true[0]:g} everywhere): it carries no signal to "
            "correlate with"
        )
    if np.ptp(recovered) == 0:
        return "the recovered reward is constant: a correlation is undefined"
    return None


def correlations(recovered: np.ndarray, true: np.ndarray, level: str) -> list[Correlation]:
    """Pearson and Spearman correlation of two equally long vectors, with 95% CIs."""
    x, y = np.asarray(recovered, dtype=float).ravel(), np.asarray(true, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"recovered has {x.size} values, true has {y.size}")
    n = int(x.size)
    note = _undefined(x, y)
    if note is not None:
        return [Correlation(m, level, None, None, None, n, note) for m in ("pearson", "spearman")]
    pearson = stats.pearsonr(x, y)
    low, high = pearson.confidence_interval(0.95) if n > 3 else (None, None)
    rho = float(stats.spearmanr(x, y).statistic)
    s_low = s_high = None
    if n > 3 and abs(rho) < 1:
        z, se = math.atanh(rho), 1.03 / math.sqrt(n - 3)
        s_low, s_high = math.tanh(z - _Z95 * se), math.tanh(z + _Z95 * se)
    return [
        Correlation(
            "pearson", level, float(pearson.statistic), _float_or_none(low), _float_or_none(high), n
        ),
        Correlation("spearman", level, rho, s_low, s_high, n),
    ]


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def episode_sums(values: np.ndarray, episode_ids: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each episode, in order of first appearance."""
    ids = np.asarray(episode_ids)
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    sums = np.bincount(inverse, weights=np.asarray(values, dtype=float))
    return sums[np.argsort(first)]


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
    """``recovered`` minus its cross-fitted best potential-shaping component (module docstring)."""
    obs = np.asarray(observations, dtype=float).reshape(len(recovered), -1)
    nxt = np.asarray(next_observations, dtype=float).reshape(len(recovered), -1)
    scaler = StandardScaler().fit(np.concatenate([obs, nxt]))
    poly = PolynomialFeatures(degree=degree, include_bias=False)
    f_s, f_next = poly.fit_transform(scaler.transform(obs)), poly.transform(scaler.transform(nxt))
    alive = 1.0 - np.asarray(terminals, dtype=float).reshape(-1, 1)
    shaping_basis = gamma * alive * f_next - f_s
    design = np.column_stack([np.asarray(true, dtype=float), shaping_basis])
    episodes = np.unique(episode_ids)
    rng = np.random.default_rng(seed)
    half = set(rng.permutation(episodes)[: max(len(episodes) // 2, 1)].tolist())
    fold = np.array([e in half for e in episode_ids])
    if fold.all() or not fold.any():  # a single episode: split its transitions instead
        fold = rng.random(len(recovered)) < 0.5
    rec = np.asarray(recovered, dtype=float)
    adjusted = rec.copy()
    for train in (fold, ~fold):
        model = Ridge(alpha=1e-3).fit(design[train], rec[train])
        adjusted[~train] = rec[~train] - shaping_basis[~train] @ model.coef_[1:]
    return adjusted


def score_rewards(
    recovered: np.ndarray,
    true: np.ndarray,
    episode_ids: np.ndarray,
    *,
    observations: np.ndarray | None = None,
    next_observations: np.ndarray | None = None,
    terminals: np.ndarray | None = None,
    gamma: float = 0.99,
) -> list[Correlation]:
    """Every correlation of the report: per transition, per episode, and shaping removed."""
    rows = correlations(recovered, true, "transition")
    rows += correlations(
        episode_sums(recovered, episode_ids), episode_sums(true, episode_ids), "episode"
    )
    if observations is not None and next_observations is not None and terminals is not None:
        adjusted = remove_best_shaping(
            recovered, true, observations, next_observations, terminals, episode_ids, gamma
        )
        rows += correlations(adjusted, true, "transition, shaping removed")
    return rows
