"""The offline-iq command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from offline_iq.cli import app
from offline_iq.data import load_minari
from offline_iq.experts.shipped import SHIPPED

runner = CliRunner()
HOPPER_EXPERT = Path(__file__).parents[1] / "experts" / "Hopper-v5" / "best.d3"


def test_datasets_lists_every_shipped_dataset_with_returns() -> None:
    result = runner.invoke(app, ["datasets", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["dataset_id"]: row for row in json.loads(result.stdout)}
    for spec in SHIPPED:
        for policy in ("expert", "random"):
            row = rows[spec.dataset_id(policy)]  # type: ignore[arg-type]
            assert row["source"] == "shipped" and row["env_id"] == spec.env_id
            assert row["ref_max_score"] > row["ref_min_score"]
        assert rows[spec.dataset_id("expert")]["episodes"] >= spec.episodes  # type: ignore[arg-type]


def test_datasets_table() -> None:
    result = runner.invoke(app, ["datasets"])
    assert result.exit_code == 0 and "cartpole/expert-v0" in result.stdout


def test_collect_bad_policy_is_a_clear_error() -> None:
    result = runner.invoke(
        app, ["collect", "CartPole-v1", "--dataset-id", "t/x-v0", "--policy", "greedy"]
    )
    assert result.exit_code != 0
    assert "policy must be one of expert, random, medium, mixed" in result.output


def test_collect_unknown_env_is_a_clear_error() -> None:
    result = runner.invoke(app, ["collect", "Nope-v0", "--dataset-id", "t/x-v0", "--episodes", "1"])
    assert result.exit_code != 0 and "No expert controller for env 'Nope-v0'" in result.output


def test_threads_option() -> None:
    import torch

    result = runner.invoke(app, ["--threads", "2", "datasets", "--json"])
    assert result.exit_code == 0 and torch.get_num_threads() == 2
    torch.set_num_threads(1)


def test_collect_env_kwargs_reach_the_dataset_and_are_checked_against_the_expert(
    tmp_path: Path,
) -> None:
    args = ["collect", "Pendulum-v1", "--policy", "random", "--episodes", "1", "--root",
            str(tmp_path), "--reference-episodes", "1"]  # fmt: skip
    wide = CliRunner(env={"COLUMNS": "300"})  # the error box would wrap the message
    made = wide.invoke(app, [*args, "--dataset-id", "test/lightpendulum-v0", "-e", "g=5.0"])
    assert made.exit_code == 0, made.output
    spec = load_minari(tmp_path / "test/lightpendulum-v0").metadata.env_spec
    assert spec is not None and spec.kwargs["g"] == 5.0
    # Hopper's expert acts on 11 observations; keeping the x position gives 12
    expert = ["collect", "Hopper-v5", "--dataset-id", "t/x-v0", "--episodes", "1", "--root",
              str(tmp_path), "--expert-model", str(HOPPER_EXPERT), "-e",
              "exclude_current_positions_from_observation=false"]  # fmt: skip
    wrong = wide.invoke(app, expert)
    assert wrong.exit_code != 0
    assert "observations of shape (11,), but the environment gives (12,)" in wrong.output
    assert not (tmp_path / "t/x-v0").exists()
