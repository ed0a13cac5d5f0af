"""The grid, the results CSV (resume, torn rows) and the report, without training."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from offline_iq.benchmark.cells import Cell, default_subsample, make_grid
from offline_iq.benchmark.report import plot_results, summarize, to_markdown
from offline_iq.benchmark.results import ResultsStore
from offline_iq.benchmark.runner import CellResult


def fake_result(cell: Cell, final: float = 100.0, scaler: str = "clipped") -> CellResult:
    return CellResult(
        key=cell.key(), dataset=cell.dataset, algo=cell.algo, mode=cell.mode,
        logged=cell.logged or "none",
        n_trajectories=cell.n_trajectories, subsample=cell.subsample, seed=cell.seed,
        steps=cell.steps, eval_episodes=cell.eval_episodes, scaler=scaler, pool=cell.pool,
        options="{}", config_id=cell.config_id or "abc", transitions=25,
        final_return=final, final_return_std=1.0, final_normalized=final / 500,
        eval_steps=f"1;{cell.steps}", eval_returns=f"{final / 2};{final}",
        eval_normalized=f"{final / 1000};{final / 500}", ref_min_score=0.0,
        ref_max_score=500.0, wall_time_s=1.0, grad_steps_per_s=100.0, version="0", commit="c",
    )  # fmt: skip


def test_grid_uses_the_papers_subsampling_unless_told_otherwise() -> None:
    grid = make_grid(["cartpole/expert-v0", "acrobot/expert-v0", "pendulum/expert-v0"], ["iq"],
                     [1], [0], steps=10, eval_episodes=1)  # fmt: skip
    assert [c.subsample for c in grid] == [20, 5, 1]
    flat = make_grid(["cartpole/expert-v0"], ["iq"], [1], [0], steps=10, eval_episodes=1,
                     no_subsample=True)  # fmt: skip
    assert flat[0].subsample == 1
    assert default_subsample("lunarlander/expert-v0") == 5
    assert (
        len(
            make_grid(
                ["a/b-v0"], ["iq", "bc"], [1, 2, 3], [0, 1], steps=1, eval_episodes=1, resolve=False
            )
        )
        == 12
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trajectories": [0]}, "must be >= 1"),
        ({"seeds": []}, "seeds is empty"),
        ({"steps": 0}, "steps and eval_episodes must be >= 1"),
        ({"subsample": 0}, "subsample must be >= 1"),
        ({"scaler": "minmax"}, "unknown observation scaler 'minmax'"),
    ],
)
def test_grid_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"trajectories": [1], "seeds": [0], "steps": 1, "eval_episodes": 1}
    with pytest.raises(ValueError, match=message):
        make_grid(["a/b-v0"], ["iq"], resolve=False, **{**base, **kwargs})  # type: ignore[arg-type]


def test_store_appends_resumes_and_skips_a_torn_row(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "r.csv")
    cells = make_grid(["a/b-v0"], ["iq", "bc"], [1], [0, 1], steps=1, eval_episodes=1,
                      resolve=False)  # fmt: skip
    for cell in cells[:3]:
        store.append(fake_result(cell))
    assert store.done_keys() == {c.key() for c in cells[:3]}
    with (tmp_path / "r.csv").open("a") as f:  # a run killed in the middle of a write
        f.write(fake_result(cells[3]).key + ",a/b-v0,bc")
    with pytest.warns(UserWarning, match="incomplete row"):
        assert store.done_keys() == {c.key() for c in cells[:3]}


def test_report_table_and_plot(tmp_path: Path) -> None:
    cells = make_grid(
        ["cartpole/expert-v0"], ["iq", "bc"], [1, 3], [0, 1], steps=1, eval_episodes=1
    )
    finals = {"iq": 450.0, "bc": 200.0}
    frame = pd.DataFrame(
        [dataclasses.asdict(fake_result(c, finals[c.algo] + 10 * c.seed)) for c in cells]
    )
    summary = summarize(frame)
    row = summary[(summary.algo == "iq") & (summary.n_trajectories == 1)].iloc[0]
    assert row.final_mean == pytest.approx(455.0) and row.seeds == 2
    assert row.norm_mean == pytest.approx(455.0 / 500)
    table = to_markdown(summary)
    assert "| 1 | 0.41 ± 0.01 [205.0] | 0.91 ± 0.01 [455.0] |" in table
    assert plot_results(summary, tmp_path / "p.png").stat().st_size > 1000
    # one learner run with two scalers in one file: the columns say which is which
    plain = [dataclasses.asdict(fake_result(c, 100.0, "standard")) for c in cells if c.algo == "iq"]
    both = summarize(pd.concat([frame, pd.DataFrame(plain)]))
    assert set(both.learner) == {"iq [clipped]", "iq [standard]", "bc [clipped]"}
    assert "| iq [clipped] | iq [standard] |" in to_markdown(both)
    old = summarize(frame.drop(columns="scaler"))  # a file from before the scaler was recorded
    assert set(old.scaler) == {"unrecorded"} and set(old.learner) == {"iq", "bc"}


def test_online_configs_and_algorithm_names() -> None:
    from offline_iq.data import load_minari
    from offline_iq.learners import make_online_config, parse_algorithm

    assert parse_algorithm("iq") == ("iq", "offline")
    assert parse_algorithm("valuedice-online") == ("valuedice", "online")
    with pytest.raises(ValueError, match="'bc' has no online mode"):
        parse_algorithm("bc-online")
    with pytest.raises(ValueError, match="unknown algorithm 'gail'"):
        parse_algorithm("gail")
    discrete = make_online_config("iq", load_minari("cartpole/expert-v0", n_trajectories=1))
    continuous = make_online_config("iq", load_minari("pendulum/expert-v0", n_trajectories=1))
    for config in (discrete, continuous):  # chi2 on every row, the absorbing state
        assert config.chi2_on_mixture and config.absorbing  # type: ignore[attr-defined]
    # continuous: the paper's value over expert and policy rows, target network
    assert continuous.value_objective == "value" and continuous.use_target_network  # type: ignore[attr-defined]
    # discrete: the value term on expert rows, no target network
    assert discrete.value_objective == "value_expert" and not discrete.use_target_network  # type: ignore[attr-defined]
    assert continuous.actor_learning_rate == 3e-5  # type: ignore[attr-defined]
    acrobot = load_minari("acrobot/expert-v0", n_trajectories=1)  # the expert's episodes terminate
    assert not make_online_config("iq", acrobot).absorbing  # type: ignore[attr-defined]
    assert make_online_config("iq", acrobot, absorbing=True).absorbing  # type: ignore[attr-defined]
    assert continuous.q_filter_bc_weight == 0.0  # type: ignore[attr-defined]
    grid = make_grid(["cartpole/expert-v0"], ["iq", "iq-online"], [1], [0], steps=1,
                     eval_episodes=1)  # fmt: skip
    assert [(c.algo, c.mode) for c in grid] == [("iq", "offline"), ("iq", "online")]
    assert grid[0].key() != grid[1].key()


def test_the_scaler_follows_the_learners_default_unless_named() -> None:
    from d3rlpy.preprocessing import StandardObservationScaler

    from offline_iq.data import load_minari
    from offline_iq.learners import make_config, make_online_config
    from offline_iq.preprocessing import ClippedStandardObservationScaler

    cartpole = load_minari("cartpole/expert-v0", n_trajectories=1, subsample=20)
    pendulum = load_minari("pendulum/expert-v0", n_trajectories=1)
    mean, std = cartpole.observation_statistics  # every state, before sub-sampling
    for name in ("iq", "bc", "valuedice"):  # the same preprocessing for every algorithm
        scaler = make_config(name, cartpole).observation_scaler  # type: ignore[attr-defined]
        assert type(scaler) is ClippedStandardObservationScaler and scaler.clip == 3.0
        np.testing.assert_allclose(scaler.mean, mean)
        np.testing.assert_allclose(scaler.std, std)
        plain = make_config(name, pendulum).observation_scaler  # type: ignore[attr-defined]
        assert type(plain) is StandardObservationScaler
    online = make_online_config("iq", cartpole).observation_scaler  # type: ignore[attr-defined]
    assert type(online) is StandardObservationScaler  # online: never clipped by default
    assert make_config("iq", cartpole, scaler="none").observation_scaler is None  # type: ignore[attr-defined]
    named = make_config("iq", pendulum, scaler="clipped").observation_scaler  # type: ignore[attr-defined]
    assert type(named) is ClippedStandardObservationScaler
    by_option = make_config("iq", cartpole, observation_scaler="standard")
    assert type(by_option.observation_scaler) is StandardObservationScaler  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown observation scaler 'robust'"):
        make_config("iq", cartpole, scaler="robust")
    keys = {c.key() for s in ("auto", "standard") for c in make_grid(
        ["a/b-v0"], ["iq"], [1], [0], steps=1, eval_episodes=1, scaler=s,
        resolve=False)}  # fmt: skip
    assert len(keys) == 2  # results with another scaler are never reused
