"""offline-iq benchmark / fit / evaluate end to end on tiny budgets, kill-and-resume included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import d3rlpy
import pandas as pd
import pytest
from typer.testing import CliRunner

from offline_iq.benchmark.cells import make_grid
from offline_iq.benchmark.executors import run_cells
from offline_iq.cli import app

runner = CliRunner(env={"COLUMNS": "240"})
TINY = ["--trajectories", "1", "--seeds", "1", "--steps", "8", "--eval-episodes", "1"]


def test_benchmark_writes_csv_table_and_plot(tmp_path: Path) -> None:
    args = ["benchmark", "-d", "acrobot/expert-v0", "-a", "iq", "-a", "bc", "-a", "iq-online",
            *TINY, "--out", str(tmp_path), "--workers", "1"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "results.csv").sort_values(["algo", "mode"])
    assert list(frame["algo"]) == ["bc", "iq", "iq"] and set(frame["subsample"]) == {5}
    assert list(frame["mode"]) == ["offline", "offline", "online"]
    online = frame[frame["mode"] == "online"].iloc[0]
    assert online["steps"] == 8 and online["transitions"] == frame["transitions"].iloc[0]
    summary = (tmp_path / "summary.md").read_text()
    assert summary.count("acrobot/expert-v0") == 1  # online and offline in one table
    assert "| trajectories | bc | iq | iq-online |" in summary
    assert (tmp_path / "returns.png").is_file()
    again = runner.invoke(app, args)  # everything done: nothing reruns
    assert "3 cells, 3 already in" in again.output
    assert len(pd.read_csv(tmp_path / "results.csv")) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-a", "gail"], "unknown algorithm 'gail'"),
        (["-a", "bc-online"], "'bc' has no online mode"),
        (["-d", "nope/none-v0"], "unknown dataset 'nope/none-v0'"),
        (["--trajectories", "0"], "trajectories must be positive integers"),
        (["--seeds", "0"], "greater than or equal to 1"),
        (["--executor", "slurm"], "unknown executor 'slurm'"),
        (["--scaler", "minmax"], "unknown observation scaler 'minmax'"),
    ],
)
def test_benchmark_bad_arguments(args: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["benchmark", *args, "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())


def test_a_results_file_of_another_version_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "results.csv").write_text("key,dataset,algo\ncartpole|bc,cartpole/expert-v0,bc\n")
    result = runner.invoke(app, ["benchmark", "-a", "bc", "--out", str(tmp_path)])
    assert result.exit_code == 2  # a usage error, not a traceback (exit code 1)
    assert "not a results file of this toolkit" in " ".join(result.output.split())


def test_killed_benchmark_resumes_where_it_stopped(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    cmd = [sys.executable, "-m", "offline_iq.cli", "benchmark", "-d", "cartpole/expert-v0",
           "-a", "bc", "--trajectories", "1,2,3,4", "--seeds", "2", "--steps", "40",
           "--eval-episodes", "1", "--workers", "1", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    csv = out / "results.csv"
    deadline = time.time() + 240
    while time.time() < deadline and (not csv.exists() or len(csv.read_text().splitlines()) < 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = pd.read_csv(csv)
    assert 2 <= len(finished) < 8  # killed part-way through
    result = runner.invoke(app, cmd[3:])  # the same command, in-process
    assert result.exit_code == 0, result.output
    assert f"8 cells, {len(finished)} already in" in result.output
    final = pd.read_csv(csv)
    assert len(final) == 8 and final["key"].is_unique
    assert final.iloc[: len(finished)].equals(finished)  # earlier rows kept as they were


def test_local_workers_and_ray_give_results_for_every_cell() -> None:
    cells = make_grid(["acrobot/expert-v0"], ["bc"], [1, 2], [0], steps=4, eval_episodes=1)
    local = {r.key for r in run_cells(cells, executor="local", workers=2)}
    assert local == {c.key() for c in cells}
    pytest.importorskip("ray")
    ray_keys = {r.key for r in run_cells(cells, executor="ray", workers=2)}
    assert ray_keys == local


def test_fit_resumes_and_evaluate_reports_normalised_score(tmp_path: Path) -> None:
    out = tmp_path / "run"
    base = ["fit", "cartpole/expert-v0", "--algo", "iq", "--demos", "1", "--steps-per-epoch", "10",
            "--eval-episodes", "1", "--out", str(out)]  # fmt: skip
    first = runner.invoke(app, [*base, "--steps", "20"])
    assert first.exit_code == 0, first.output
    assert (out / "checkpoint.d3").is_file() and '"steps_done": 20' in (
        out / "state.json"
    ).read_text()
    second = runner.invoke(app, [*base, "--steps", "30"])
    assert second.exit_code == 0 and "resuming" in second.output
    assert '"steps_done": 30' in (out / "state.json").read_text()
    result = runner.invoke(app, ["evaluate", str(out), "--episodes", "2"])
    assert result.exit_code == 0, result.output
    assert "over 2 episodes; normalised score" in result.output
    short = ["evaluate", str(out), "--episodes", "2", "-e", "max_episode_steps=5"]
    capped = runner.invoke(app, [*short, "--env", "CartPole-v1"])  # no pole falls in 5 steps
    assert capped.exit_code == 0 and "return 5.00 ± 0.00 over 2 episodes" in capped.output
    no_env = runner.invoke(app, short)
    assert no_env.exit_code != 0 and "needs --env" in no_env.output
    bad = runner.invoke(app, ["fit", "cartpole/expert-v0", "--algo", "gail"])
    assert bad.exit_code != 0 and "unknown algorithm 'gail'" in bad.output


def test_fit_online_resumes(tmp_path: Path) -> None:
    out = tmp_path / "online"
    base = ["fit", "cartpole/expert-v0", "--algo", "iq", "--demos", "1", "--online", "CartPole-v1",
            "--steps-per-epoch", "40", "--eval-episodes", "1", "--out", str(out)]  # fmt: skip
    first = runner.invoke(app, [*base, "--steps", "80"])
    assert first.exit_code == 0, first.output
    state = (out / "state.json").read_text()
    assert '"steps_done": 80' in state and '"online": "CartPole-v1"' in state

    def stored_transitions() -> int:
        with (out / "buffer.h5").open("rb") as f:
            buffer = d3rlpy.dataset.ReplayBuffer.load(f, d3rlpy.dataset.InfiniteBuffer())
        return sum(episode.size() for episode in buffer.episodes)

    assert stored_transitions() == 80  # the replay data is checkpointed with the model
    second = runner.invoke(app, [*base, "--steps", "120"])
    assert second.exit_code == 0 and "resuming" in second.output
    assert stored_transitions() == 120  # ... and reloaded on resume, not restarted
    assert '"replay_capacity": 1000000' in (out / "state.json").read_text()
    other = runner.invoke(app, [*base, "--steps", "160", "--replay-capacity", "7"])
    assert other.exit_code != 0 and "was run with --replay-capacity 1000000, not 7" in " ".join(
        other.output.split()
    )
    offline = runner.invoke(app, ["fit", "cartpole/expert-v0", "--replay-capacity", "7"])
    assert offline.exit_code != 0 and "--replay-capacity is for --online" in offline.output
    bc = runner.invoke(app, ["fit", "cartpole/expert-v0", "--algo", "bc", "--online", "CartPole-v1",
                             "--out", str(tmp_path / "bc")])  # fmt: skip
    assert bc.exit_code != 0 and "--online needs iq or valuedice" in " ".join(bc.output.split())


def test_fit_options_override_config_fields(tmp_path: Path) -> None:
    from offline_iq.cli.app import parse_options

    assert parse_options(["absorbing=true", "chi2_alpha=0.1", "divergence=w1"]) == {
        "absorbing": True, "chi2_alpha": 0.1, "divergence": "w1"}  # fmt: skip
    out = tmp_path / "opt"
    args = ["fit", "cartpole/expert-v0", "--demos", "1", "--steps", "10", "--steps-per-epoch",
            "10", "--eval-episodes", "1", "-o", "chi2_alpha=0.25", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    model = d3rlpy.load_learnable(str(out / "checkpoint.d3"))
    assert model.config.chi2_alpha == 0.25
    bad = runner.invoke(app, [*args[:-2], "-o", "nope=1", "--out", str(tmp_path / "bad")])
    assert bad.exit_code != 0 and "bad --option for iq" in " ".join(bad.output.split())
    shape = runner.invoke(app, [*args[:-2], "-o", "alpha", "--out", str(tmp_path / "bad2")])
    assert shape.exit_code != 0 and "KEY=VALUE" in shape.output
    plain = [*args[:-2], "-o", "observation_scaler=standard", "--out", str(tmp_path / "plain")]
    assert runner.invoke(app, plain).exit_code == 0
    scaler = d3rlpy.load_learnable(str(tmp_path / "plain" / "checkpoint.d3")).config
    assert type(scaler.observation_scaler) is d3rlpy.preprocessing.StandardObservationScaler
    odd = runner.invoke(app, [*args[:-2], "-o", "observation_scaler=odd", "--out", str(out / "x")])
    assert odd.exit_code != 0 and "unknown observation scaler 'odd'" in odd.output
