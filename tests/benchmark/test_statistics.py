"""The benchmark statistics: rliable's estimates, the verdict rule, complete seed sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rliable import metrics

from offline_iq.benchmark.report import write_report
from offline_iq.benchmark.statistics import (
    AGGREGATE,
    ScoreSet,
    compare,
    interval_estimates,
    probability_of_improvement,
    score_set,
    verdict,
)

REPS = 300


def _scores(**arrays: np.ndarray) -> ScoreSet:
    runs, tasks = next(iter(arrays.values())).shape
    return ScoreSet(dict(arrays), [("d", 1, n) for n in range(tasks)], list(range(runs)))


def _frame(scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows shaped like results.csv from learner -> (seeds, trajectory counts) arrays."""
    rows = [
        {"dataset": "toy/expert-v0", "algo": algo, "mode": "offline", "scaler": "clipped",
         "subsample": 5, "n_trajectories": n + 1, "seed": seed, "final_normalized": value}
        for algo, array in scores.items()
        for (seed, n), value in np.ndenumerate(array)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _verdicts(x: np.ndarray, y: np.ndarray) -> pd.Series:
    table = probability_of_improvement(_scores(iq=x, bc=y), reps=REPS)
    return table.set_index("baseline")["verdict"]


def test_verdict_rule() -> None:
    assert verdict(0.51, 0.9) == "better"
    assert verdict(0.1, 0.49) == "worse"
    assert verdict(0.4, 0.6) == verdict(0.5, 0.9) == "indistinguishable"


def test_two_copies_of_one_algorithm_are_indistinguishable() -> None:
    rng = np.random.default_rng(0)
    first, second = rng.normal(0.6, 0.2, (10, 4)), rng.normal(0.6, 0.2, (10, 4))
    assert _verdicts(first, second)["bc"] == "indistinguishable"


def test_a_clear_margin_is_better_and_the_reverse_worse() -> None:
    rng = np.random.default_rng(1)
    strong, weak = rng.normal(0.9, 0.05, (10, 4)), rng.normal(0.4, 0.05, (10, 4))
    assert _verdicts(strong, weak)["bc"] == "better"
    assert _verdicts(weak, strong)["bc"] == "worse"


def test_estimates_are_rliables_and_reproducible() -> None:
    rng = np.random.default_rng(2)
    scores = _scores(iq=rng.uniform(0, 1, (6, 3)), bc=rng.uniform(0, 1, (6, 3)))
    table = interval_estimates(scores, reps=REPS, seed=3).set_index("learner")
    for name, array in scores.scores.items():
        assert table.loc[name, "iqm"] == pytest.approx(metrics.aggregate_iqm(array))
        assert table.loc[name, "mean"] == pytest.approx(metrics.aggregate_mean(array))
        assert table.loc[name, "iqm_lo"] <= table.loc[name, "iqm"] <= table.loc[name, "iqm_hi"]
    p = probability_of_improvement(scores, reps=REPS).iloc[0]["p"]
    assert p == pytest.approx(metrics.probability_of_improvement(*scores.scores.values()))
    again = interval_estimates(scores, reps=REPS, seed=3).set_index("learner")
    pd.testing.assert_frame_equal(table, again)


def test_incomplete_seed_sets_are_dropped_and_said() -> None:
    rng = np.random.default_rng(4)
    frame = _frame({"iq": rng.uniform(size=(4, 3)), "bc": rng.uniform(size=(4, 3))})
    # bc lost seed 3 at one trajectory count; valuedice ran only one trajectory count
    frame = frame[
        ~((frame["algo"] == "bc") & (frame["seed"] == 3) & (frame["n_trajectories"] == 2))
    ]
    extra = _frame({"valuedice": rng.uniform(size=(4, 1))})
    scores = score_set(pd.concat([frame, extra], ignore_index=True))
    assert scores.tasks == [("toy/expert-v0", 5, 1)]  # n=2 and n=3 lack valuedice
    assert scores.seeds == [0, 1, 2, 3] and any("not every learner" in n for n in scores.notes)
    scores = score_set(frame)
    assert scores.seeds == [0, 1, 2] and len(scores.tasks) == 3
    assert scores.scores["iq"].shape == (3, 3)
    assert any("dropped seeds [3]" in note for note in scores.notes)
    comparison = compare(frame, reps=REPS)
    seeds = comparison.verdicts.set_index("scope")["seeds"]
    assert seeds["toy/expert-v0 (1/5) n=1"] == 4 and seeds[AGGREGATE] == 3
    assert score_set(frame[frame["seed"] == 0]).tasks == []  # one seed: no intervals


def test_report_has_verdicts_iqm_and_profiles(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    frame = _frame({"iq": rng.normal(0.9, 0.05, (5, 2)), "bc": rng.normal(0.3, 0.05, (5, 2))})
    frame = frame.assign(
        mode="offline", final_return=frame["final_normalized"], grad_steps_per_s=1.0,
        wall_time_s=1.0, ref_min_score=0.0, ref_max_score=1.0, key=range(len(frame)),
        eval_steps="10;20", eval_returns="0.1;" + frame["final_normalized"].astype(str),
        eval_normalized="0.1;" + frame["final_normalized"].astype(str),
    )  # fmt: skip
    _, verdicts, written = write_report(frame, tmp_path, reps=REPS)
    summary = (tmp_path / "summary.md").read_text()
    assert verdicts in summary and "| all tasks | 5 | better" in verdicts
    assert "IQM [" not in summary and "| all tasks | MEAN |" in summary
    assert (tmp_path / "profiles.png") in written and (tmp_path / "profiles.png").is_file()
    assert (tmp_path / "curves.png") in written  # the learning curves beside them
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert sorted(curves["step"].unique()) == [10, 20] and len(curves) == 2 * len(frame)


def test_summarize_reports_on_an_existing_results_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from offline_iq.cli import app

    committed = Path(__file__).resolve().parents[2] / "results" / "offline-v1" / "results.csv"
    frame = pd.read_csv(committed)
    frame[(frame["dataset"] == "cartpole/expert-v0") & (frame["n_trajectories"] <= 3)].to_csv(
        tmp_path / "results.csv", index=False
    )
    runner = CliRunner(env={"COLUMNS": "240"})
    result = runner.invoke(app, ["summarize", str(tmp_path), "--bootstrap-reps", "200"])
    assert result.exit_code == 0, result.output
    assert "| all tasks | 5 | indistinguishable" in result.output
    assert "## Verdicts (rliable)" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "profiles.png").is_file() and (tmp_path / "returns.png").is_file()
    missing = runner.invoke(app, ["summarize", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0 and "no results file" in missing.output


def test_settings_derived_from_each_seeds_data_do_not_split_a_learner() -> None:
    from offline_iq.benchmark.statistics import learner_names

    frame = _frame({"iq": np.zeros((4, 1))}).assign(mode="logged", options='{"t": 1}')
    frame["config_id"] = ["a", "b", "a", "a"]  # seed 1 drew demonstrations that never end
    assert set(learner_names(frame)) == {"iq-logged"}
    twice = pd.concat([frame, frame.assign(config_id="c")])  # two configs for one seed
    assert len(set(learner_names(twice))) > 1
    chosen = frame.assign(options=['{"t": 1}', '{"t": 2}', '{"t": 1}', '{"t": 1}'])
    assert len(set(learner_names(chosen))) > 1  # two chosen option sets on one task
