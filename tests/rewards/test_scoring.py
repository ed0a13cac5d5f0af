"""Scoring on synthetic rewards with a known answer: identical, shaped, negated, independent."""

from __future__ import annotations

import numpy as np
import pytest

from offline_iq.rewards.scoring import correlations, episode_sums, score_rewards

GAMMA = 0.9


def _synthetic(seed: int = 0, n_episodes: int = 40, length: int = 25) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    obs, nxt, ids, done = [], [], [], []
    for k in range(n_episodes):
        states = rng.normal(size=(length + 1, 2)).cumsum(axis=0) * 0.3
        obs.append(states[:-1])
        nxt.append(states[1:])
        ids.append(np.full(length, k))
        done.append(np.zeros(length))
    o, n = np.concatenate(obs), np.concatenate(nxt)
    true = np.sin(o[:, 0]) + 0.5 * n[:, 1] + 0.1 * rng.normal(size=len(o))
    return {
        "obs": o,
        "next": n,
        "ids": np.concatenate(ids),
        "done": np.concatenate(done),
        "true": true,
    }


def _by(rows: list, method: str, level: str) -> object:  # type: ignore[type-arg]
    return next(r for r in rows if r.method == method and r.level == level)


def test_identical_and_negated() -> None:
    d = _synthetic()
    rows = score_rewards(d["true"], d["true"], d["ids"])
    assert _by(rows, "pearson", "transition").value == pytest.approx(1.0)  # type: ignore[attr-defined]
    assert _by(rows, "spearman", "episode sum").value == pytest.approx(1.0)  # type: ignore[attr-defined]
    negated = score_rewards(-d["true"], d["true"], d["ids"])
    assert _by(negated, "pearson", "transition").value == pytest.approx(-1.0)  # type: ignore[attr-defined]


def test_independent_reward_has_a_ci_covering_zero() -> None:
    d = _synthetic()
    noise = np.random.default_rng(9).normal(size=len(d["true"]))
    row = _by(score_rewards(noise, d["true"], d["ids"]), "pearson", "transition")
    assert abs(row.value) < 0.1 and row.ci_low < 0 < row.ci_high  # type: ignore[attr-defined]


def test_shaping_is_removed() -> None:
    d = _synthetic()
    potential = lambda s: 2.0 * s[:, 0] ** 2 - 3.0 * s[:, 1] + s[:, 0] * s[:, 1]  # noqa: E731
    shaped = d["true"] + GAMMA * potential(d["next"]) - potential(d["obs"])
    rows = score_rewards(shaped, d["true"], d["ids"], observations=d["obs"],
                         next_observations=d["next"], terminals=d["done"], gamma=GAMMA)  # fmt: skip
    raw = _by(rows, "pearson", "transition").value  # type: ignore[attr-defined]
    unshaped = _by(rows, "pearson", "transition, shaping removed").value  # type: ignore[attr-defined]
    assert raw < 0.6 and unshaped > 0.99, (raw, unshaped)
    # and removing shaping does not invent correlation for an unrelated reward
    noise = np.random.default_rng(3).normal(size=len(d["true"]))
    rows = score_rewards(noise, d["true"], d["ids"], observations=d["obs"],
                         next_observations=d["next"], terminals=d["done"], gamma=GAMMA)  # fmt: skip
    assert abs(_by(rows, "pearson", "transition, shaping removed").value) < 0.1  # type: ignore[attr-defined]


def test_constant_true_reward_is_said_in_words() -> None:
    ids = np.repeat(np.arange(5), [10, 12, 9, 30, 7])  # CartPole: +1 per step, lengths differ
    true = np.ones(len(ids))
    recovered = np.random.default_rng(0).normal(size=len(ids)) + 1
    rows = score_rewards(recovered, true, ids)
    transition = _by(rows, "pearson", "transition")
    assert transition.value is None  # type: ignore[attr-defined]
    assert "true reward is constant (1 everywhere)" in transition.describe()  # type: ignore[attr-defined]
    episode = _by(rows, "pearson", "episode sum")  # per-episode sums differ with the lengths
    assert episode.value is not None and episode.n == 5  # type: ignore[attr-defined]
    partial = _by(rows, "pearson", "episode sum given length")
    assert "true episode sum is linear in the length" in partial.describe()  # type: ignore[attr-defined]
    assert rows.length_confounded  # the sums only measure length here


def test_episode_sums_keep_first_appearance_order() -> None:
    sums = episode_sums(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([7, 7, 2, 2, 9]))
    assert sums.tolist() == [3.0, 7.0, 5.0]


def test_length_mismatch() -> None:
    with pytest.raises(ValueError, match="recovered has 3 values, true has 2"):
        correlations(np.zeros(3), np.zeros(2), "transition")


def test_score_is_the_former_name_of_score_recovered_reward() -> None:
    from offline_iq import rewards

    assert rewards.score is rewards.score_recovered_reward
