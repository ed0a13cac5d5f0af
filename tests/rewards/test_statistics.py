"""Episode-bootstrap CIs and length control, on synthetic data with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from offline_iq.rewards.bootstrap import RankPlan, episode_weights, row_ranks, weighted_partial
from offline_iq.rewards.measures import episode_codes
from offline_iq.rewards.scoring import (
    EPISODE_MEAN,
    EPISODE_PARTIAL,
    EPISODE_SUM,
    SHAPING,
    TRANSITION,
    score_rewards,
)
from offline_iq.rewards.shaping import CrossFittedShaping


def _ar1(rng: np.random.Generator, episodes: int, steps: int, phi: float = 0.9) -> np.ndarray:
    """``(episodes, steps)`` stationary AR(1) sequences, one per episode, vectorised."""
    noise = rng.normal(size=(episodes, steps))
    out = np.empty_like(noise)
    out[:, 0] = noise[:, 0] / np.sqrt(1 - phi**2)
    for t in range(1, steps):
        out[:, t] = phi * out[:, t - 1] + noise[:, t]
    return out


def _confounded(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The issue's case: an independent noise reward with mean 0.3 against an alive bonus
    (+1 per step, plus a varying part), 20 episodes of varying length."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(20), rng.integers(30, 300, 20))
    true = 1.0 + 0.5 * rng.normal(size=len(ids))
    return 0.3 + rng.normal(size=len(ids)), true, ids


def test_length_confounding_is_flagged_and_controlled() -> None:
    recovered, true, ids = _confounded(seed=0)
    report = score_rewards(recovered, true, ids, n_resamples=400)
    total = report.row(EPISODE_SUM)
    assert total.value is not None and total.value > 0.9 and total.ci_low > 0.8  # type: ignore[operator]
    assert abs(report.row(TRANSITION).value) < 0.05  # type: ignore[arg-type]
    for level in (EPISODE_MEAN, EPISODE_PARTIAL):
        assert report.row(level).covers(0.0), report.row(level)
        assert not report.row(level).covers(total.value)
    assert report.row(EPISODE_MEAN, "spearman").covers(0.0)
    assert report.length_confounded and report.length_cv > 0.3
    assert "LENGTH CONFOUNDED" in report.notes[0]


def test_equal_lengths_are_not_flagged() -> None:
    rng = np.random.default_rng(1)
    ids = np.repeat(np.arange(12), 50)
    true = rng.normal(size=len(ids))
    report = score_rewards(true + rng.normal(size=len(ids)), true, ids, n_resamples=200)
    assert not report.length_confounded and report.length_cv == 0.0
    assert "every episode has 50 steps" in report.notes[0]


def test_clustered_cis_cover_zero_for_independent_autocorrelated_rewards() -> None:
    # 20 episodes x 200 steps, two independent AR(1) sequences (phi 0.9): a CI that treats
    # transitions as independent excluded 0 in 9-10 of 12 trials.
    trials, episodes, steps = 50, 20, 200
    ids = np.repeat(np.arange(episodes), steps)
    covered: dict[tuple[str, str], int] = {}
    for trial in range(trials):
        rng = np.random.default_rng(trial)
        state = _ar1(rng, episodes, steps + 1)
        recovered = _ar1(rng, episodes, steps).ravel()
        observations = state[:, :-1].reshape(-1, 1)
        report = score_rewards(recovered, observations[:, 0], ids, observations=observations,
                               next_observations=state[:, 1:].reshape(-1, 1),
                               terminals=np.zeros(len(ids)), gamma=0.9, n_resamples=200,
                               seed=trial)  # fmt: skip
        for row in report:
            key = (row.level, row.method)
            covered[key] = covered.get(key, 0) + row.covers(0.0)
    assert len(covered) == 10
    assert min(covered.values()) >= 0.9 * trials, covered


def test_a_correlated_reward_gets_a_ci_excluding_zero() -> None:
    rng = np.random.default_rng(3)
    ids = np.repeat(np.arange(20), 200)
    true = _ar1(rng, 20, 201)
    recovered = true[:, :-1] + 0.8 * _ar1(rng, 20, 200)
    report = score_rewards(recovered.ravel(), true[:, :-1].ravel(), ids,
                           observations=true[:, :-1].reshape(-1, 1),
                           next_observations=true[:, 1:].reshape(-1, 1),
                           terminals=np.zeros(len(ids)), gamma=0.9, n_resamples=300)  # fmt: skip
    for level in (TRANSITION, SHAPING, EPISODE_SUM, EPISODE_MEAN):
        for method in ("pearson", "spearman"):
            row = report.row(level, method)
            assert row.ci_low is not None and row.ci_low > 0, row


def test_resample_statistics_equal_those_of_the_expanded_resample() -> None:
    """A resample drawn as episode multiplicities gives the statistic of the duplicated rows,
    shaping refitted on them included."""
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(8), rng.integers(5, 15, 8))
    codes, _ = episode_codes(ids)
    obs, nxt = rng.normal(size=(len(ids), 2)), rng.normal(size=(len(ids), 2))
    true = np.round(obs[:, 0] + rng.normal(size=len(ids)), 1)  # ties
    recovered = 0.5 * true + obs[:, 1] ** 2 - 0.9 * nxt[:, 1] ** 2 + rng.normal(size=len(ids))
    shaping = CrossFittedShaping(recovered, true, obs, nxt, np.zeros(len(ids)), codes, 0.9)
    weights = episode_weights(rng.integers(0, 8, (3, 8)), 8)
    pearson, spearman = shaping.pearson(weights), shaping.spearman(weights)
    for b, w in enumerate(weights):
        rows = np.repeat(np.arange(len(ids)), w[codes].astype(int))
        adjusted = _refit_on(rows, recovered, true, shaping)
        assert pearson[b] == pytest.approx(stats.pearsonr(adjusted, true[rows])[0])
        assert spearman[b] == pytest.approx(stats.spearmanr(adjusted, true[rows])[0])
        counts, expected = w[codes].astype(int), stats.rankdata(true[rows])
        assert np.repeat(RankPlan(true).ranks(w[codes][None])[0], counts) == pytest.approx(expected)
        assert np.repeat(row_ranks(true[None], w[codes][None])[0], counts) == pytest.approx(
            expected
        )


def _refit_on(
    rows: np.ndarray, recovered: np.ndarray, true: np.ndarray, shaping: CrossFittedShaping
) -> np.ndarray:
    """Least squares (ridge 1e-3, free intercept) on the duplicated rows, each half fitted on
    the other half's episodes."""
    basis = shaping.z[rows, 3:] + shaping.mean[2:]
    design = np.column_stack([np.ones(len(rows)), true[rows], basis])
    in_a, y = shaping.in_a[rows], recovered[rows]
    adjusted = y.copy()
    for train in (in_a, ~in_a):
        x, t = design[train], y[train]
        xc, tc = x[:, 1:] - x[:, 1:].mean(0), t - t.mean()
        beta = np.linalg.solve(xc.T @ xc + 1e-3 * np.eye(xc.shape[1]), xc.T @ tc)
        adjusted[~train] = y[~train] - basis[~train] @ beta[1:]
    return adjusted


def test_partial_correlation_is_the_correlation_of_residuals() -> None:
    rng = np.random.default_rng(2)
    length = rng.integers(10, 100, 30).astype(float)
    x, y = length + rng.normal(size=30) * 5, 2 * length + rng.normal(size=30) * 5
    design = np.column_stack([np.ones(30), length])
    rx, ry = (v - design @ np.linalg.lstsq(design, v, rcond=None)[0] for v in (x, y))
    assert weighted_partial(x, y, length, np.ones((1, 30)))[0] == pytest.approx(
        stats.pearsonr(rx, ry)[0]
    )


def test_bootstrap_is_reproducible_and_seeded() -> None:
    recovered, true, ids = _confounded(seed=5)
    first = score_rewards(recovered, true, ids, n_resamples=200, seed=7)
    again = score_rewards(recovered, true, ids, n_resamples=200, seed=7)
    other = score_rewards(recovered, true, ids, n_resamples=200, seed=8)
    assert first.rows == again.rows
    assert first.row(TRANSITION).ci_low != other.row(TRANSITION).ci_low
