"""``benchmarks/stability_figure.py`` redraws a figure from its own CSV (a clone has no run
folders), from run folders, and names what is wrong with a source."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from tests.benchmark.scripts import curve_frame, load_benchmark, write_run_folder


@pytest.fixture(scope="module")
def figure() -> ModuleType:
    return load_benchmark("stability_figure")


def _returns(scale: float) -> dict[int, float]:
    return {2500 * (i + 1): scale * 2500 * (i + 1) for i in range(6)}


def _curve(scale: float) -> pd.DataFrame:
    return curve_frame(_returns(scale))


def _run_folder(
    root: Path, name: str, seed: int, options: dict[str, object], capacity: int | None = None
) -> Path:
    returns = _returns(0.2 * (seed + 1))
    return write_run_folder(
        root, name, seed=seed, returns=returns, options=options, replay_capacity=capacity
    )


def test_csv_redraws_the_same_runs_as_the_folders(
    figure: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a = _run_folder(tmp_path, "a", 0, {})
    b = _run_folder(tmp_path, "b", 1, {"gradient_penalty": True, "tau": 0.001}, capacity=10_000)
    monkeypatch.setattr(sys, "argv", ["x", str(tmp_path / "one.png"), str(a), str(b)])
    figure.main()
    from_folders = capsys.readouterr().out
    written = pd.read_csv(tmp_path / "one.csv")
    assert list(dict.fromkeys(written.run)) == ["a", "b"]
    assert json.loads(written[written.run == "b"].options.iloc[0]) == {"gradient_penalty": True,
                                                                       "tau": 0.001}  # fmt: skip
    # a's state.json predates replay_capacity: it kept every transition, the default
    assert written.groupby("run").replay_capacity.first().to_dict() == {"a": 10**6, "b": 10_000}

    monkeypatch.setattr(sys, "argv", ["x", str(tmp_path / "two.png"), str(tmp_path / "one.csv")])
    figure.main()
    assert capsys.readouterr().out == from_folders  # same verdicts
    assert pd.read_csv(tmp_path / "two.csv").equals(written)  # same curves and settings

    picked = figure.read_sources([f"{tmp_path / 'one.csv'}::b", str(a)])
    assert [r.name for r in picked] == ["b", "a"]
    assert picked[0].seed == 1 and picked[0].options["tau"] == 0.001
    assert picked[0].settings() == "gradient_penalty=True, tau=0.001, replay_capacity=10000"
    assert picked[1].settings() == "defaults"
    assert picked[0].curves.mean_return.tolist() == written[written.run == "b"].mean_return.tolist()


def test_bad_sources_are_named(figure: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="neither a run folder nor a CSV"):
        figure.read_sources([str(tmp_path / "absent")])
    bare = tmp_path / "bare.csv"
    _curve(1.0).assign(run="a").to_csv(bare, index=False)
    with pytest.raises(SystemExit, match=r"lacks the columns \['dataset'"):
        figure.read_sources([str(bare)])
    full = tmp_path / "full.csv"
    figure.Run("a", _curve(1.0), "hopper/expert-v0", "iq", 0, "Hopper-v5", {}).table().to_csv(
        full, index=False
    )
    with pytest.raises(SystemExit, match=r"holds no run \['zz'\]; it holds \['a'\]"):
        figure.read_sources([f"{full}::zz"])


def test_a_csv_written_before_the_replay_capacity_column_reads_as_the_default(
    figure: ModuleType, tmp_path: Path
) -> None:
    older = tmp_path / "older.csv"
    run = figure.Run("a", _curve(1.0), "hopper/expert-v0", "iq", 0, "Hopper-v5", {"tau": 0.01})
    run.table().drop(columns="replay_capacity").to_csv(older, index=False)
    (read,) = figure.read_sources([str(older)])
    assert read.replay_capacity == 10**6 and read.settings() == "tau=0.01"
