"""Whether an online learning curve reaches the expert and stays there (issue 19's test).

A curve is a sequence of ``(environment steps, mean return of an evaluation)`` in step order.
With expert return :math:`R_E`, it *reaches* at the first evaluation with return
:math:`\\ge` ``reach`` :math:`R_E` and *holds* when no evaluation of the next ``hold``
environment steps falls below ``floor`` :math:`R_E`; its *final* score is the last evaluation
(the headline of a fixed budget, never the best one seen) over :math:`R_E`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

__all__ = ["CurveVerdict", "judge_curve"]


@dataclasses.dataclass(frozen=True)
class CurveVerdict:
    """What :func:`judge_curve` found.

    ``reached_at``: steps of the first evaluation at or above ``reach`` of the expert (``None``:
    never). ``worst_after``: the lowest fraction of the expert among the evaluations of the
    window ``(reached_at, reached_at + hold]`` (``None`` if none was made). ``held``: ``False``
    as soon as an evaluation of the window is below ``floor``; ``True`` once the curve has run
    to the window's end with at least one evaluation in it and none below; ``None`` otherwise
    (window not yet run, or never reached).
    ``final``: the last evaluation as a fraction of the expert. ``dips`` of the
    ``window_evaluations`` evaluations in the window fell below ``floor`` (a finer measure than
    ``held`` for comparing curves that all fail it).
    """

    reached_at: int | None
    worst_after: float | None
    held: bool | None
    final: float
    passes_final: bool
    dips: int = 0
    window_evaluations: int = 0

    @property
    def passes(self) -> bool:
        """Reaches, holds for the whole window, and ends at or above the final fraction."""
        return bool(self.held) and self.passes_final


def judge_curve(
    curve: Sequence[tuple[int, float]],
    expert_return: float,
    *,
    reach: float = 0.9,
    floor: float = 0.8,
    hold: int = 50_000,
    final: float = 0.95,
) -> CurveVerdict:
    """Judge ``curve`` against ``expert_return`` (which must be positive: fractions of a
    negative return read the wrong way round)."""
    if not curve:
        raise ValueError("the curve has no evaluations")
    if not expert_return > 0:
        raise ValueError(f"expert_return must be positive, got {expert_return}")
    steps = [int(s) for s, _ in curve]
    if any(b <= a for a, b in itertools.pairwise(steps)):
        raise ValueError("curve steps must be strictly increasing")
    fractions = [float(r) / expert_return for _, r in curve]
    last = fractions[-1]
    first = next((i for i, f in enumerate(fractions) if f >= reach), None)
    if first is None:
        return CurveVerdict(None, None, None, last, last >= final)
    start = steps[first]
    window = [f for s, f in zip(steps, fractions, strict=True) if start < s <= start + hold]
    worst = min(window) if window else None
    held: bool | None
    if worst is not None and worst < floor:
        held = False  # a dip inside the window fails it however long the curve runs
    elif steps[-1] >= start + hold and window:
        held = True
    else:
        held = None
    dips = sum(f < floor for f in window)
    return CurveVerdict(start, worst, held, last, last >= final, dips, len(window))
