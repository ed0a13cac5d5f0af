"""The reach-and-hold test of an online learning curve, on hand-made curves (expert 1000)."""

from __future__ import annotations

import pytest

from offline_iq.benchmark.online_criteria import judge_curve

E = 1000.0


def _curve(*returns: float, every: int = 10_000) -> list[tuple[int, float]]:
    return [(every * (i + 1), r) for i, r in enumerate(returns)]


def test_a_curve_that_reaches_and_stays_passes() -> None:
    # reaches 0.9 at 20k; 30k..70k lowest 0.85; the window (20k, 70k] is fully seen; ends 0.96
    verdict = judge_curve(_curve(500, 900, 950, 850, 990, 900, 960), E)
    assert verdict.reached_at == 20_000
    assert verdict.worst_after == pytest.approx(0.85)
    assert verdict.held is True and verdict.passes_final and verdict.passes


def test_one_dip_below_the_floor_inside_the_window_fails() -> None:
    # Hopper's old curve, scaled: 0.9 at 30k, then a dip to 0.6 at 40k
    verdict = judge_curve(_curve(400, 800, 950, 600, 1000, 1000, 1000, 1000, 1000), E)
    assert verdict.reached_at == 30_000 and verdict.worst_after == pytest.approx(0.6)
    assert verdict.held is False and verdict.passes_final and not verdict.passes
    assert (verdict.dips, verdict.window_evaluations) == (1, 5)  # 40k..80k


def test_a_dip_after_the_window_does_not_count_but_the_final_score_does() -> None:
    verdict = judge_curve(_curve(900, 900, 900, 900, 900, 900, 700), E, hold=50_000)
    assert verdict.held is True  # 70k is past (10k, 60k]
    assert verdict.final == pytest.approx(0.7) and not verdict.passes


def test_a_window_not_yet_run_is_undecided_and_never_reaching_is_reported() -> None:
    assert judge_curve(_curve(950, 900), E).held is None
    never = judge_curve(_curve(100, 200, 890), E)
    assert never.reached_at is None and never.held is None and not never.passes


def test_the_boundaries() -> None:
    # exactly 0.9 reaches, exactly 0.8 is not a dip, an evaluation at start + hold is inside
    v = judge_curve([(10, 900.0), (20, 800.0), (60, 790.0), (70, 1000.0)], E, hold=50)
    assert v.reached_at == 10 and v.dips == 1 and v.held is False  # 790 at 60 = 10 + 50
    v = judge_curve([(10, 900.0), (20, 800.0), (61, 790.0)], E, hold=50)
    assert v.dips == 0 and v.held is True and v.window_evaluations == 1


def test_an_empty_window_never_holds() -> None:
    # evaluations further apart than the window: nothing was seen, nothing is claimed
    v = judge_curve([(10, 950.0), (100, 960.0)], E, hold=50)
    assert v.window_evaluations == 0 and v.held is None and not v.passes


@pytest.mark.parametrize(
    ("curve", "expert", "message"),
    [([], E, "no evaluations"), (_curve(1.0), -5.0, "positive"),
     ([(10, 1.0), (10, 2.0)], E, "increasing")],
)  # fmt: skip
def test_bad_input_is_refused(curve: list[tuple[int, float]], expert: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        judge_curve(curve, expert)
