"""The evaluation protocol: cell identity, curves, episode pools, tuning, the strongest BC."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import d3rlpy
import pandas as pd
import pytest

from offline_iq.benchmark.cells import (
    check_eval_at,
    default_eval_at,
    make_grid,
    pool_positions,
)
from offline_iq.benchmark.results import LEGACY_FIELDS, ResultsStore
from offline_iq.benchmark.runner import run_cell
from offline_iq.benchmark.tuning import TUNING_GRIDS, choose, read_choice, tuning_grid
from offline_iq.cli.tune_cmd import tuning_cells
from offline_iq.data import load_minari
from offline_iq.learners import config_digest, learner_name, make_config

CARTPOLE = "cartpole/expert-v0"
PENDULUM = "pendulum/expert-v0"


def _changed(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 0.5 + 0.125
    return None


@pytest.mark.parametrize("dataset", [CARTPOLE, PENDULUM])
@pytest.mark.parametrize("algo", ["iq", "bc", "bc-wd", "valuedice"])
def test_configs_differing_in_one_field_never_share_a_digest(dataset: str, algo: str) -> None:
    data = load_minari(dataset, n_trajectories=1)
    base = make_config(algo, data)
    digest = config_digest(base)
    changed = 0
    for field in dataclasses.fields(base):
        value = getattr(base, field.name)
        new = _changed(value)
        if new is None or field.name == "compile_graph":
            continue
        try:
            other = make_config(algo, data, **{field.name: new})
        except (TypeError, ValueError):  # a value the config refuses (e.g. an int field's bound)
            continue
        assert config_digest(other) != digest, field.name
        changed += 1
    assert changed >= 3
    for options in ({"hidden_units": "64x64"}, {"weight_decay": 0.5}):  # nested settings too
        assert config_digest(make_config(algo, data, **options)) != digest
    # a string field and a scaler
    assert config_digest(make_config(algo, data, scaler="none")) != digest


def test_grid_keys_name_the_configuration_and_the_pool() -> None:
    def grid(**kwargs: object) -> list[str]:
        cells = make_grid([CARTPOLE], ["iq"], [1], [0], steps=100, eval_episodes=1, **kwargs)  # type: ignore[arg-type]
        return [c.key() for c in cells]

    plain = grid()
    assert grid() == plain  # deterministic
    alpha = grid(options={CARTPOLE: {"iq": {"chi2_alpha": 0.4}}})
    assert alpha != plain
    assert grid(options={CARTPOLE: {"iq": {"chi2_alpha": 0.4}}}) == alpha
    assert grid(pool="tuning") != plain and grid(pool="evaluation") != grid(pool="tuning")
    assert grid(eval_at=[50, 100]) != plain
    # the digest is of the resolved config: naming a default explicitly is the same config
    assert grid(options={CARTPOLE: {"iq": {"chi2_alpha": 0.5}}}) == plain


def test_evaluation_checkpoints() -> None:
    assert default_eval_at(1000) == (50, 100, 200, 500, 1000)
    assert default_eval_at(20_000) == (1000, 2000, 5000, 10_000, 20_000)
    assert default_eval_at(5000) == (500, 1000, 2000, 5000)
    assert default_eval_at(3) == (1, 2, 3)
    assert check_eval_at([20, 5, 10], 20) == (5, 10, 20)
    with pytest.raises(ValueError, match="end at the budget"):
        check_eval_at([5, 10], 20)
    with pytest.raises(ValueError, match="end at the budget"):
        check_eval_at([0, 20], 20)


def test_a_cell_evaluates_at_its_checkpoints_and_reports_the_last() -> None:
    (cell,) = make_grid([CARTPOLE], ["bc"], [1], [0], steps=6, eval_episodes=1, eval_at=[2, 6])
    result = run_cell(cell)
    assert result.eval_steps == "2;6"
    returns = [float(v) for v in result.eval_returns.split(";")]
    assert len(returns) == 2 and result.final_return == returns[-1]
    assert result.config_id == cell.config_id and result.key == cell.key()
    assert result.version and result.commit


def test_tuning_and_evaluation_pools_are_disjoint() -> None:
    tuning, evaluation = pool_positions("tuning", 50), pool_positions("evaluation", 50)
    assert tuning == tuple(range(10)) and evaluation == tuple(range(10, 50))
    assert pool_positions("all", 50) is None
    assert pool_positions("tuning", 25) == tuple(range(5))
    with pytest.raises(ValueError, match="unknown episode pool"):
        pool_positions("test", 50)
    with pytest.raises(ValueError, match="too few"):
        pool_positions("tuning", 1)
    for seed in range(5):
        (t,) = make_grid([CARTPOLE], ["bc"], [3], [seed], steps=1, eval_episodes=1, pool="tuning")
        (e,) = make_grid([CARTPOLE], ["bc"], [3], [seed], steps=1, eval_episodes=1,
                         pool="evaluation")  # fmt: skip
        picked_t = set(t.load().metadata.subset.episode_positions)
        picked_e = set(e.load().metadata.subset.episode_positions)
        assert picked_t <= set(range(10)) and picked_e <= set(range(10, 50))


def test_loader_draws_from_an_episode_pool() -> None:
    data = load_minari(CARTPOLE, n_trajectories=2, seed=3, episodes=[7, 8, 9])
    assert set(data.metadata.subset.episode_positions) <= {7, 8, 9}
    # without a pool: unchanged
    assert load_minari(CARTPOLE, n_trajectories=2, seed=3).metadata.subset.episode_positions == (
        load_minari(
            CARTPOLE, n_trajectories=2, seed=3, episodes=None
        ).metadata.subset.episode_positions
    )
    for bad, message in (([], "episodes is empty"), ([50], "out of range"), ([1, 1], "repeat")):
        with pytest.raises(ValueError, match=message):
            load_minari(CARTPOLE, n_trajectories=1, episodes=bad)
    with pytest.raises(ValueError, match="only 3 episodes"):
        load_minari(CARTPOLE, n_trajectories=4, episodes=[0, 1, 2])


def test_bc_with_weight_decay_and_learner_options() -> None:
    data = load_minari(CARTPOLE, n_trajectories=1)
    assert make_config("bc", data).optim_factory.weight_decay == 0  # type: ignore[attr-defined]
    wd = make_config("bc-wd", data)
    assert isinstance(wd, d3rlpy.algos.DiscreteBCConfig)
    assert wd.optim_factory.weight_decay == 1e-3
    assert make_config("bc-wd", data, weight_decay=0.01).optim_factory.weight_decay == 0.01  # type: ignore[attr-defined]
    small = make_config("iq", load_minari(PENDULUM, n_trajectories=1), hidden_units="64x64")
    for name in ("actor_encoder_factory", "critic_encoder_factory"):
        assert getattr(small, name).hidden_units == [64, 64]
    assert small.temp_optim_factory.weight_decay == 0  # type: ignore[attr-defined]
    for bad in ({"hidden_units": "64xx"}, {"hidden_units": 0}, {"weight_decay": -1.0}):
        with pytest.raises(ValueError):
            make_config("bc", data, **bad)


def _tuning_frame(scores: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"dataset": CARTPOLE, "algo": "iq", "options": options, "final_normalized": v}
        for options, values in scores.items()
        for v in values
    ]
    return pd.DataFrame(rows)


def test_tuning_picks_the_best_mean_and_ties_go_to_the_first() -> None:
    first, second = json.dumps({"learning_rate": 1e-4}), json.dumps({"learning_rate": 3e-4})
    assert choose(_tuning_frame({first: [0.2, 0.4], second: [0.5, 0.6]}))[CARTPOLE]["iq"] == {
        "learning_rate": 3e-4
    }
    assert choose(_tuning_frame({first: [0.5, 0.5], second: [0.4, 0.6]}))[CARTPOLE]["iq"] == {
        "learning_rate": 1e-4
    }
    for algo in ("iq", "bc-wd"):  # the same budget for IQ-Learn and the strongest BC
        assert len(TUNING_GRIDS[algo]) == 8
        assert len({json.dumps(o, sort_keys=True) for o in TUNING_GRIDS[algo]}) == 8
    assert len(TUNING_GRIDS["valuedice"]) == 4  # a lighter budget, stated in the results


def test_every_tuning_grid_builds_on_discrete_and_continuous_actions() -> None:
    # each configuration resolves to its own config on both action kinds (continuous IQ-Learn
    # names its learning rates differently); the budget is the same on both
    logged = {CARTPOLE: "cartpole/mixed-v0", PENDULUM: "pendulum/mixed-v0"}
    algos = list(TUNING_GRIDS)
    cells = tuning_cells(
        [CARTPOLE, PENDULUM], algos, [1], [100], steps=2, eval_episodes=1, logged=logged
    )
    for dataset, kind in ((CARTPOLE, "discrete"), (PENDULUM, "continuous")):
        for algo in algos:
            mine = [
                c for c in cells if c.dataset == dataset and learner_name(c.algo, c.mode) == algo
            ]
            assert len(mine) == len(tuning_grid(algo, kind)) == len(TUNING_GRIDS[algo])
            assert len({c.config_id for c in mine}) == len(mine), (dataset, algo)
    with pytest.raises(ValueError, match="no tuning grid"):
        tuning_grid("sac", "discrete")


def test_read_choice_names_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "choice.json"
    path.write_text(json.dumps({"choice": {CARTPOLE: {"iq": {"temperature": 0.1}}}}))
    assert read_choice(path) == {CARTPOLE: {"iq": {"temperature": 0.1}}}
    path.write_text("{}")
    with pytest.raises(ValueError, match=r"not a choice\.json"):
        read_choice(path)
    path.write_text(json.dumps({"choice": {CARTPOLE: ["iq"]}}))
    with pytest.raises(ValueError, match="dataset -> algorithm -> options"):
        read_choice(path)


def test_results_of_an_earlier_version_are_read_but_never_appended(tmp_path: Path) -> None:
    committed = Path(__file__).resolve().parents[2] / "results" / "offline-v1" / "results.csv"
    legacy = pd.read_csv(committed).head(6)
    assert list(legacy.columns) == LEGACY_FIELDS
    legacy.to_csv(tmp_path / "results.csv", index=False)
    store = ResultsStore(tmp_path / "results.csv")
    frame = store.frame()
    assert len(frame) == 6 and (frame["eval_returns"].astype(float) == legacy["final_return"]).all()
    assert set(frame["config_id"]) == {""} and set(frame["pool"]) == {"all"}
    (cell,) = make_grid([CARTPOLE], ["bc"], [1], [0], steps=2, eval_episodes=1)
    with pytest.raises(ValueError, match="earlier version"):
        store.append(run_cell(cell))


def _cartpole_key(algo: str, options: dict[str, object], logged: bool) -> str:
    (cell,) = make_grid(
        [CARTPOLE], [algo], [1], [0], steps=5000, eval_episodes=10, pool="evaluation",
        eval_at=[500, 1000, 2000, 5000], options={CARTPOLE: {algo: options}},
        logged={CARTPOLE: "cartpole/mixed-v0"} if logged else None,
    )  # fmt: skip
    return cell.key()


def test_published_cells_keep_their_keys() -> None:
    # a field added later (logged_bc_weight) leaves the digest alone at its default, so the
    # committed results of results/offline-v2 and results/logged-v1 are still found on resume;
    # logged-v1 trained with the absorbing state and LS-IQ's goal-labelled expert terminations,
    # which expert_terminations="goal" restores (its default, "failure", trains differently)
    root = Path(__file__).resolve().parents[2] / "results"
    for folder, algo, logged in (("offline-v2", "iq", False), ("logged-v1", "iq-logged", True)):
        frame = pd.read_csv(root / folder / "results.csv")
        name = algo.removesuffix("-logged")
        rows = frame[(frame.dataset == CARTPOLE) & (frame.algo == name) & (frame.seed == 0)]
        if logged:
            rows = rows[rows["logged"] != "none"]
        row = rows[rows.n_trajectories == 1].iloc[0]
        options = json.loads(row.options)
        then = {"expert_terminations": "goal"} if logged else {}
        assert _cartpole_key(algo, {**options, **then}, logged) == row.key, folder
        changed = {**options, **then, "logged_bc_weight": 0.5}
        assert _cartpole_key(algo, changed, logged) != row.key
        if logged:
            assert _cartpole_key(algo, options, logged) != row.key


def _published_iq_key(row: pd.Series, **extra: object) -> str:
    """The key a results row's IQ-Learn cell gets now, with ``extra`` options added."""
    logged = row.logged != "none"
    (cell,) = make_grid(
        [row.dataset], ["iq-logged" if logged else "iq"], [int(row.n_trajectories)],
        [int(row.seed)], steps=int(row.steps), eval_episodes=int(row.eval_episodes),
        subsample=int(row.subsample) if row.subsample > 1 else None, pool=row.pool,
        eval_at=[int(x) for x in str(row.eval_steps).split(";")],
        options={row.dataset: {"iq": {**json.loads(row.options), **extra}}},
        logged={row.dataset: row.logged} if logged else None,
    )  # fmt: skip
    return cell.key()


@pytest.mark.parametrize("folder", ["mujoco-v2", "logged-v1/mujoco", "logged-v1/pendulum"])
def test_published_continuous_iq_cells_keep_their_keys(folder: str) -> None:
    # the continuous learner gained fields after these were published (target_entropy,
    # expert_bc_weight, smoothness_*): at their defaults each trains as before, so the key holds
    frame = pd.read_csv(Path(__file__).resolve().parents[2] / "results" / folder / "results.csv")
    row = frame[frame.algo == "iq"].iloc[0]
    assert _published_iq_key(row) == row.key
    assert _published_iq_key(row, smoothness_weight=1.0) != row.key


def test_expert_terminations_counts_only_where_it_trains_differently() -> None:
    # it acts only through the absorbing state, and "goal" is how absorbing expert rows trained
    # before the field existed: the key moves for the new default under absorbing, nowhere else
    data = load_minari(CARTPOLE, n_trajectories=1)

    def digest(**options: object) -> str:
        return config_digest(make_config("iq", data, **options))

    assert digest(absorbing=False, expert_terminations="goal") == digest(
        absorbing=False, expert_terminations="failure"
    )
    assert digest(absorbing=True, expert_terminations="goal") != digest(
        absorbing=True, expert_terminations="failure"
    )
    assert digest(absorbing=True, expert_terminations="goal") != digest(absorbing=False)
