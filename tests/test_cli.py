"""The offline-iq command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from offline_iq.cli import app
from offline_iq.experts.shipped import SHIPPED

runner = CliRunner()


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
