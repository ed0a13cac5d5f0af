"""``offline-iq tune``: the tuning protocol (:mod:`offline_iq.benchmark.tuning`), resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from tqdm.auto import tqdm

from offline_iq.benchmark.cells import DEFAULT_DATASETS, Cell, make_grid
from offline_iq.benchmark.executors import run_cells
from offline_iq.benchmark.results import ResultsStore
from offline_iq.benchmark.tuning import (
    TUNING_GRIDS,
    TUNING_SEEDS,
    choose,
    tuning_grid,
    tuning_markdown,
    write_choice,
)
from offline_iq.cli.app import app, console
from offline_iq.cli.benchmark_cmd import _int_list, logged_datasets
from offline_iq.data.catalog import dataset_action_kind


def tuning_cells(
    datasets: list[str],
    algos: list[str],
    trajectories: list[int],
    seeds: list[int],
    *,
    steps: int,
    eval_episodes: int,
    logged: dict[str, str] | None = None,
) -> list[Cell]:
    """Every configuration of every learner's tuning grid, on the tuning pool, final eval only."""
    cells: list[Cell] = []
    kinds = {d: dataset_action_kind(d) for d in datasets}
    for algo in algos:
        for d in datasets:
            for options in tuning_grid(algo, kinds[d]):
                cells += make_grid(
                    [d],
                    [algo],
                    trajectories,
                    seeds,
                    steps=steps,
                    eval_episodes=eval_episodes,
                    pool="tuning",
                    eval_at=[steps],
                    options={d: {algo: options}},
                    logged=logged,
                )
    return cells


@app.command()
def tune(
    dataset: Annotated[
        list[str] | None, typer.Option("--dataset", "-d", help="Dataset id or path (repeatable).")
    ] = None,
    algo: Annotated[
        list[str] | None,
        typer.Option("--algo", "-a", help=f"Learners to tune: {', '.join(TUNING_GRIDS)}."),
    ] = None,
    trajectories: Annotated[str, typer.Option(help="Expert trajectories, comma-separated.")] = "1",
    seeds: Annotated[
        str, typer.Option(help="Tuning seeds (never the report's 0, 1, ...).")
    ] = ",".join(map(str, TUNING_SEEDS)),
    steps: Annotated[int, typer.Option(min=1, help="Gradient steps (the report's budget).")] = 5000,
    eval_episodes: Annotated[int, typer.Option(min=1, help="Episodes per evaluation.")] = 10,
    logged: Annotated[
        list[str] | None,
        typer.Option(help="Logged data of the learners that use logs (as for benchmark)."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Parallel cells.")] = 2,
    out: Annotated[Path, typer.Option(help="Folder of tuning.csv, tuning.md, choice.json.")] = Path(
        "runs/tuning"
    ),
) -> None:
    """Choose each learner's configuration on tuning trajectories and seeds; rerun to resume."""
    datasets = list(dataset or DEFAULT_DATASETS)
    algos = list(algo or ["iq", "bc-wd", "valuedice"])
    unknown = [a for a in algos if a not in TUNING_GRIDS]
    if unknown:
        raise typer.BadParameter(f"no tuning grid for {unknown}; choose from {list(TUNING_GRIDS)}")
    seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    if any(s < 0 for s in seed_list) or not seed_list:
        raise typer.BadParameter(f"seeds must be non-negative integers, got {seeds!r}")
    try:
        logged_map = logged_datasets(list(logged or []), datasets)
        cells = tuning_cells(
            datasets,
            algos,
            _int_list(trajectories, "trajectories"),
            seed_list,
            steps=steps,
            eval_episodes=eval_episodes,
            logged=logged_map,
        )
    except (ValueError, OSError) as err:
        raise typer.BadParameter(str(err)) from err
    store = ResultsStore(out / "tuning.csv")
    try:
        store.check_appendable()
        done = store.done_keys()
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--out") from err
    pending = [c for c in cells if c.key() not in done]
    console.print(f"{len(cells)} tuning runs, {len(cells) - len(pending)} already in {store.path}")
    with tqdm(total=len(cells), initial=len(cells) - len(pending), desc="tune") as bar:
        for result in run_cells(pending, workers=workers):
            store.append(result)
            bar.update()
    keys = {c.key() for c in cells}
    frame = store.frame()
    frame = frame[frame["key"].isin(keys)]
    protocol = {
        "datasets": datasets,
        "algos": algos,
        "trajectories": trajectories,
        "seeds": seed_list,
        "pool": "tuning",
        "logged": logged_map,
        "steps": steps,
        "eval_episodes": eval_episodes,
        "rule": "highest mean final normalised score; ties to the first listed",
    }
    choice = choose(frame)
    (out / "tuning.md").write_text(tuning_markdown(frame))
    write_choice(out / "choice.json", choice, protocol)
    console.print(tuning_markdown(frame))
    console.print(f"wrote {out / 'tuning.md'} and {out / 'choice.json'}")
