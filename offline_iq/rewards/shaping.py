r"""The recovered reward with its best potential-based shaping term removed, cross-fitted.

A reward is identified only up to :math:`\gamma \Phi(s') - \Phi(s)` (Ng et al., 1999). We regress
the recovered reward on the true reward together with the shaping basis
:math:`\gamma (1 - d) f(s') - f(s)` (:math:`f`: degree-2 polynomial features of the standardised
state) by ridge regression with an intercept, and subtract the fitted shaping part. The fit is
cross-fitted: the episodes are split into two fixed halves, each half's potential is fitted on
the other half, so the extra freedom cannot manufacture correlation.

Everything the fit and the correlation need is a sum over transitions of ``z z^T`` with
``z = (true, recovered, basis)``, so both are functions of per-episode moment sums. An
episode-bootstrap resample (multiplicities ``w``, see :mod:`offline_iq.rewards.bootstrap`)
therefore refits the potential on its own episodes: the interval accounts for the fit.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from offline_iq.rewards.bootstrap import RankPlan, row_ranks, weighted_pearson

__all__ = ["CrossFittedShaping"]

_RIDGE = 1e-3  # ridge penalty of the shaping coefficients (the intercept is not penalised)


class CrossFittedShaping:
    """The cross-fitted shaping removal of one sample, for the sample and its resamples.

    ``episode_codes`` number the episodes ``0..E-1``. With one episode its transitions are split
    instead (no resampling is possible then).
    """

    def __init__(
        self,
        recovered: np.ndarray,
        true: np.ndarray,
        observations: np.ndarray,
        next_observations: np.ndarray,
        terminals: np.ndarray,
        episode_codes: np.ndarray,
        gamma: float,
        *,
        degree: int = 2,
        seed: int = 0,
    ) -> None:
        n = len(recovered)
        obs = np.asarray(observations, dtype=float).reshape(n, -1)
        nxt = np.asarray(next_observations, dtype=float).reshape(n, -1)
        scaler = StandardScaler().fit(np.concatenate([obs, nxt]))
        poly = PolynomialFeatures(degree=degree, include_bias=False)
        f_s = poly.fit_transform(scaler.transform(obs))
        f_next = poly.transform(scaler.transform(nxt))
        alive = 1.0 - np.asarray(terminals, dtype=float).reshape(-1, 1)
        basis = gamma * alive * f_next - f_s
        z = np.column_stack([np.asarray(true, float), np.asarray(recovered, float), basis])
        self.mean = z.mean(axis=0)
        # centred (the moments lose no precision), after a column of ones (the constant that
        # the centring of the basis moves into the adjusted reward)
        self.z = np.column_stack([np.ones(n), z - self.mean])
        self.codes = np.asarray(episode_codes)
        n_episodes = int(self.codes.max()) + 1
        rng = np.random.default_rng(seed)
        self.episode_in_a = np.zeros(n_episodes, dtype=bool)
        self.episode_in_a[rng.permutation(n_episodes)[: max(n_episodes // 2, 1)]] = True
        self.in_a = self.episode_in_a[self.codes]
        if n_episodes == 1:
            self.in_a = rng.random(n) < 0.5
        order = np.argsort(self.codes, kind="stable")
        per_episode = np.split(self.z[order], np.cumsum(np.bincount(self.codes))[:-1])
        self.moments = np.stack([part.T @ part for part in per_episode])
        self.sums = np.stack([part.sum(axis=0) for part in per_episode])
        self.counts = self.sums[:, 0]
        self.true_ranks = RankPlan(self.z[:, 1])

    def adjusted(self) -> np.ndarray:
        """The recovered reward minus its cross-fitted shaping part."""
        coef_a, coef_b = self._coefficients(None)
        centred = np.where(self.in_a, self.z @ coef_b[0], self.z @ coef_a[0])
        return centred + self.mean[1]

    def pearson(self, weights: np.ndarray) -> np.ndarray:
        """Pearson correlation of the adjusted and the true reward per row of episode
        multiplicities ``weights`` (``(B, E)``)."""
        coef_a, coef_b = self._coefficients(weights)
        total = np.zeros((len(weights), 6))
        # half a is adjusted with the potential fitted on b, and b with a's
        for half, coef in ((self.episode_in_a, coef_b), (~self.episode_in_a, coef_a)):
            n, s1, s2 = self._half_moments(weights, half)
            s2c = np.einsum("bij,bj->bi", s2, coef)
            adjusted_sum = np.einsum("bi,bi->b", s1, coef)
            adjusted_squares = np.einsum("bi,bi->b", coef, s2c)
            total += np.column_stack(
                [n, adjusted_sum, s1[:, 1], adjusted_squares, s2[:, 1, 1], s2c[:, 1]]
            )
        n, sx, sy, sxx, syy, sxy = total.T
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (sxy - sx * sy / n) / np.sqrt((sxx - sx**2 / n) * (syy - sy**2 / n))
        return np.clip(r, -1.0, 1.0)

    def spearman(self, weights: np.ndarray) -> np.ndarray:
        """Spearman correlation of the adjusted and the true reward per row of ``weights``."""
        coef_a, coef_b = self._coefficients(weights)
        adjusted = np.where(self.in_a[:, None], self.z @ coef_b.T, self.z @ coef_a.T).T
        w = np.take(weights, self.codes, axis=1)
        return weighted_pearson(row_ranks(adjusted, w), self.true_ranks.ranks(w), w)

    def _half_moments(
        self, weights: np.ndarray, half: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w = weights * half
        q = self.z.shape[1]
        s2 = (w @ self.moments.reshape(len(half), -1)).reshape(-1, q, q)
        return w @ self.counts, w @ self.sums, s2

    def _coefficients(self, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Per resample, ``c`` with ``c . z`` = recovered minus the shaping fitted on half a,
        and on half b (``weights=None``: the sample itself, one row)."""
        if weights is None:
            halves = [self._transition_moments(mask) for mask in (self.in_a, ~self.in_a)]
        else:
            halves = [
                self._half_moments(weights, h) for h in (self.episode_in_a, ~self.episode_in_a)
            ]
        coef_a, coef_b = (_ridge(*moments, self.mean[2:]) for moments in halves)
        return coef_a, coef_b

    def _transition_moments(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = self.z[mask]
        return np.array([len(z)], float), z.sum(axis=0)[None], (z.T @ z)[None]


def _ridge(n: np.ndarray, s1: np.ndarray, s2: np.ndarray, basis_mean: np.ndarray) -> np.ndarray:
    """Regress the recovered reward (column 2 of ``z``) on the true one and the shaping basis
    (columns 1, 3+; intercept free) from the moments of ``z``; return ``c`` (``(B, q)``) with
    ``c . z`` = recovered minus the fitted shaping part, less the recovered reward's mean. Rows
    with no transitions are ``nan``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n[:, None]
    cov = s2 - n[:, None, None] * mean[:, :, None] * mean[:, None, :]
    regressors = [1, *range(3, s1.shape[1])]
    gram = cov[:, regressors][:, :, regressors] + _RIDGE * np.eye(len(regressors))
    target = cov[:, regressors, 2]
    ok = n > 0
    beta = np.full((len(n), len(regressors) - 1), np.nan)
    if ok.any():
        beta[ok] = np.linalg.solve(gram[ok], target[ok][..., None])[:, 1:, 0]
    coef = np.zeros_like(s1)
    coef[:, 0] = -beta @ basis_mean  # the basis is centred in z: put its mean back
    coef[:, 2] = 1.0
    coef[:, 3:] = -beta
    return coef
