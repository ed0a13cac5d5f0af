"""``benchmarks/online_acceptance.py`` judges every run's read policy by the issue's rule and
counts, per environment, the runs that pass."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmark.scripts import load_benchmark, write_run_folder


@pytest.fixture(scope="module")
def acceptance() -> ModuleType:
    return load_benchmark("online_acceptance")


def _run(root: Path, name: str, seed: int, fractions: list[float], expert: float) -> Path:
    """A run folder whose read policy scores ``fractions`` of the expert every 10,000 steps."""
    returns = {10_000 * (i + 1): f * expert for i, f in enumerate(fractions)}
    return write_run_folder(root, name, seed=seed, returns=returns)


def test_runs_are_judged_and_counted(
    acceptance: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expert = sys.modules["stability_figure"].expert_score("hopper/expert-v0")  # its import
    passing = _run(tmp_path, "passing", 0, [0.5, 0.92, 0.85, 0.9, 0.95, 1.0, 0.97, 0.96], expert)
    dipping = _run(tmp_path, "dipping", 1, [0.91, 0.7, 0.95, 0.96, 0.98, 0.99, 1.0, 1.0], expert)
    never = _run(tmp_path, "never", 2, [0.3, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6], expert)
    runs = acceptance.read_sources([str(passing), str(dipping), str(never)])
    judged = acceptance.judge_runs(runs, "ema_0.0001", 50_000)
    assert [j.passes for j in judged] == [True, False, False]
    assert judged[1].verdict.dips == 1 and judged[1].verdict.final == pytest.approx(1.0)

    monkeypatch.setattr(sys, "argv", ["x", str(passing), str(dipping), str(never)])
    acceptance.main()
    out = capsys.readouterr().out
    assert "| Hopper-v5 | 3 | 1 | 2 | 1 | 2 |" in out  # runs, pass, reach, hold, final
    assert "no: hold fails |" in out
    assert "no: never reaches 90%; final 0.600 < 0.95 |" in out

    # a second set, lower on every seed: the first is "better" once the CI clears 0.5
    low = [_run(tmp_path, f"low{s}", s, [0.3, 0.4, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 - s / 10], expert)
           for s in range(3)]  # fmt: skip
    argv = ["x", str(passing), str(dipping), str(never), "--against", *map(str, low)]
    monkeypatch.setattr(sys, "argv", argv)
    acceptance.main()
    out = capsys.readouterr().out
    assert "| Hopper-v5 | 0, 1, 2 | 1.00 [1.00, 1.00] | better |" in out
    lone = acceptance.judge_runs(acceptance.read_sources([str(low[0])]), "last", 50_000)
    assert "fewer than 2 common seeds" in acceptance.improvement_rows(judged, lone)[-1]

    with pytest.raises(SystemExit, match=r"has no policy 'ema_0\.01'"):
        acceptance.judge_runs(runs, "ema_0.01", 50_000)
