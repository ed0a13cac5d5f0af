"""``benchmarks/expert_curves.py`` draws train-expert folders beside runs kept only in its CSV."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from tests.benchmark.scripts import load_benchmark


@pytest.fixture(scope="module")
def curves() -> ModuleType:
    return load_benchmark("expert_curves")


def test_folders_and_old_csvs_make_one_table(
    curves: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "Ant-v5-nocfrc"
    folder.mkdir()
    state = {
        "env_id": "Ant-v5",
        "algo": "sac",
        "env_kwargs": {"include_cfrc_ext_in_observation": False},
        "evaluations": [[10000, 5.0], [20000, 490.0]],
        "restarts": [{"at_step": 20000, "weights_from_step": 10000, "weights_return": 5.0}],
    }
    (folder / "state.json").write_text(json.dumps(state))
    old = tmp_path / "old.csv"  # the format before runs were named
    pd.DataFrame({"env_id": ["Hopper-v5"] * 2 + ["Ant-v5"], "algo": "sac",
                  "env_steps": [10000, 20000, 10000], "mean_return": [300.0, 900.0, -21.0]}
                 ).to_csv(old, index=False)  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["x", str(tmp_path / "out.png"), f"{old}::Hopper-v5",
                                      str(folder)])  # fmt: skip
    curves.main()
    table = pd.read_csv(tmp_path / "out.csv")
    assert list(table.columns) == curves.COLUMNS
    assert list(dict.fromkeys(table.run)) == ["Hopper-v5", "Ant-v5-nocfrc"]
    ant = table[table.run == "Ant-v5-nocfrc"]
    assert json.loads(ant.env_kwargs.iloc[0]) == {"include_cfrc_ext_in_observation": False}
    assert ant.mean_return.tolist() == [5.0, 490.0]
    assert (tmp_path / "out.png").is_file()
    assert curves.read([str(folder)])[0][1] == [20000]  # the restart is kept for the figure
    with pytest.raises(SystemExit, match=r"holds no run 'Walker2d-v5'"):
        curves.read([f"{old}::Walker2d-v5"])
    with pytest.raises(SystemExit, match="neither a train-expert folder nor a CSV"):
        curves.read([str(tmp_path / "absent")])
