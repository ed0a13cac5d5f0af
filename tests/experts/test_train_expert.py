"""offline-iq train-expert: chunks, checkpoints, resume."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from offline_iq.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


def test_train_expert_checkpoints_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "pendulum"
    args = ["train-expert", "Pendulum-v1", "--chunk-steps", "150", "--out", str(out)]
    first = runner.invoke(app, [*args, "--steps", "300"])
    assert first.exit_code == 0, first.output
    state = json.loads((out / "state.json").read_text())
    assert state["steps_done"] == 300 and len(state["evaluations"]) == 2
    assert (out / "model.d3").is_file() and (out / "buffer.h5").is_file()
    second = runner.invoke(app, [*args, "--steps", "450"])
    assert second.exit_code == 0, second.output
    assert "resuming" in second.output
    assert json.loads((out / "state.json").read_text())["steps_done"] == 450
    bad = runner.invoke(app, ["train-expert", "Pendulum-v1", "--algo", "ppo", "--out", str(out)])
    assert bad.exit_code != 0 and "unknown expert algorithm 'ppo'" in bad.output
