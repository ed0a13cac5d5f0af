"""The logged-data axis of the benchmark and of ``offline-iq fit``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from offline_iq.benchmark.cells import make_grid
from offline_iq.benchmark.runner import run_cell
from offline_iq.cli import app
from offline_iq.cli.benchmark_cmd import logged_datasets
from offline_iq.learners import parse_algorithm

CARTPOLE, LOGS = "cartpole/expert-v0", "cartpole/random-v0"


def test_logged_names_and_the_datasets_they_take() -> None:
    assert parse_algorithm("iq-logged") == ("iq", "logged")
    assert parse_algorithm("bc-wd-logged") == ("bc-wd", "logged")
    with pytest.raises(ValueError, match="'valuedice' has no logged-data mode"):
        parse_algorithm("valuedice-logged")
    datasets = [CARTPOLE, "acrobot/expert-v0"]
    assert logged_datasets(["random-v0"], datasets) == {
        CARTPOLE: LOGS,
        "acrobot/expert-v0": "acrobot/random-v0",
    }
    assert logged_datasets([f"{CARTPOLE}={LOGS}"], datasets) == {CARTPOLE: LOGS}
    with pytest.raises(ValueError, match="not a --dataset"):
        logged_datasets(["pendulum/expert-v0=pendulum/random-v0"], datasets)


def test_logged_cells_name_their_logs_and_the_others_do_not_change() -> None:
    grid = make_grid(
        [CARTPOLE], ["iq", "iq-logged", "bc-logged"], [1], [0], steps=4, eval_episodes=1,
        logged={CARTPOLE: LOGS},
    )  # fmt: skip
    plain, iq_logged, bc_logged = grid
    (alone,) = make_grid([CARTPOLE], ["iq"], [1], [0], steps=4, eval_episodes=1)
    assert plain.key() == alone.key() and "|l" not in plain.key()
    assert iq_logged.key().endswith(f"|l{LOGS}") and iq_logged.mode == "logged"
    assert iq_logged.config_id != plain.config_id  # logged settings and the union's scaler
    assert (
        bc_logged.key()
        != make_grid([CARTPOLE], ["bc"], [1], [0], steps=4, eval_episodes=1)[0].key()
    )
    with pytest.raises(ValueError, match="iq-logged need logged data"):
        make_grid([CARTPOLE], ["iq-logged"], [1], [0], steps=4, eval_episodes=1)


def test_a_logged_cell_trains_on_both_and_records_its_logs() -> None:
    grid = make_grid(
        [CARTPOLE], ["iq-logged", "bc-logged"], [1], [0], steps=4, eval_episodes=1,
        logged={CARTPOLE: LOGS},
    )  # fmt: skip
    for cell in grid:
        result = run_cell(cell)
        assert result.logged == LOGS and result.mode == "logged"
        assert result.transitions == len(cell.load().transitions)  # the expert's rows


def test_fit_with_logs_resumes_and_refuses_other_logs(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    base = [CARTPOLE, "--demos", "1", "--steps", "4", "--steps-per-epoch", "2"]
    args = [*base, "--eval-episodes", "0", "--out", str(out)]
    result = runner.invoke(app, ["fit", *args, "--logged", LOGS])
    assert result.exit_code == 0, result.output
    assert '"logged": "cartpole/random-v0"' in (out / "state.json").read_text()
    result = runner.invoke(app, ["fit", *args])  # the same folder without the logs
    assert result.exit_code != 0 and "another dataset, algorithm or logs" in result.output
    result = runner.invoke(app, ["fit", *base, "--logged", CARTPOLE, "--out", str(tmp_path)])
    assert result.exit_code != 0 and "is the expert dataset itself" in result.output
    result = runner.invoke(app, ["fit", *args, "--algo", "valuedice", "--logged", LOGS])
    assert result.exit_code != 0 and "needs a learner that uses logs" in result.output


def test_logged_settings_value_terminations_by_the_demonstrations() -> None:
    from offline_iq.data import load_minari
    from offline_iq.learners import make_logged_config

    cartpole = load_minari(CARTPOLE, n_trajectories=1)  # never terminates: failures only
    config = make_logged_config("iq", cartpole, load_minari(LOGS))
    assert config.absorbing and config.chi2_on_mixture
    assert config.value_objective == "value_expert" and config.temperature == 0.1
    acrobot = load_minari("acrobot/expert-v0", n_trajectories=1)  # ends at its goal
    assert not make_logged_config("iq", acrobot, load_minari("acrobot/random-v0")).absorbing
    assert parse_algorithm("demodice") == ("demodice", "logged")
