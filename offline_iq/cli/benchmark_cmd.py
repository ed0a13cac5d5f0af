"""``offline-iq benchmark``: the grid, resumable, with a table and a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from tqdm.auto import tqdm

from offline_iq.benchmark.cells import (
    DEFAULT_ALGORITHMS,
    DEFAULT_DATASETS,
    DEFAULT_TRAJECTORIES,
    POOLS,
    make_grid,
)
from offline_iq.benchmark.executors import EXECUTORS, run_cells
from offline_iq.benchmark.report import write_report
from offline_iq.benchmark.results import ResultsStore
from offline_iq.benchmark.tuning import read_choice
from offline_iq.cli.app import app, console
from offline_iq.data.sources import resolve_data_path
from offline_iq.learners import parse_algorithm
from offline_iq.preprocessing import check_scaler

REPS_HELP = "Bootstrap replications of the confidence intervals (rliable)."
SEED_HELP = "Seed of the bootstrap: the same results give the same intervals."


def _int_list(text: str, name: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise typer.BadParameter(f"{name} must be comma-separated integers, got {text!r}") from err
    if not values or any(v < 1 for v in values):
        raise typer.BadParameter(f"{name} must be positive integers, got {text!r}")
    return values


def logged_datasets(values: list[str], datasets: list[str]) -> dict[str, str]:
    """``--logged`` values as ``{expert dataset: logged dataset}``.

    ``NAME`` without a ``/`` (``mixed-v0``) is that dataset in each expert dataset's namespace
    (``cartpole/expert-v0`` -> ``cartpole/mixed-v0``); ``EXPERT=LOGGED`` names one pair; a full id
    alone applies to every dataset of the grid.
    """
    pairs: dict[str, str] = {}
    for value in values:
        expert, sep, logged = value.partition("=")
        if sep:
            if expert not in datasets:
                raise ValueError(f"--logged {value}: {expert} is not a --dataset of this grid")
            pairs[expert] = logged
        elif "/" not in value:
            pairs.update({d: f"{d.rsplit('/', 1)[0]}/{value}" for d in datasets if "/" in d})
        else:
            pairs.update(dict.fromkeys(datasets, value))
    return pairs


@app.command()
def benchmark(
    dataset: Annotated[
        list[str] | None, typer.Option("--dataset", "-d", help="Dataset id or path (repeatable).")
    ] = None,
    algo: Annotated[
        list[str] | None,
        typer.Option(
            "--algo",
            "-a",
            help="iq, bc, bc-wd, valuedice, iq-online, valuedice-online; with --logged also "
            "iq-logged, bc-logged, bc-wd-logged, demodice (repeatable).",
        ),
    ] = None,
    logged: Annotated[
        list[str] | None,
        typer.Option(
            help="Logged data for the learners that use logs: mixed-v0 (that dataset in each "
            "--dataset's namespace), EXPERT=LOGGED, or one id for every dataset (repeatable).",
        ),
    ] = None,
    trajectories: Annotated[
        str, typer.Option(help="Numbers of expert trajectories, comma-separated.")
    ] = ",".join(map(str, DEFAULT_TRAJECTORIES)),
    seeds: Annotated[int, typer.Option(min=1, help="Seeds per grid point (0..seeds-1).")] = 3,
    steps: Annotated[
        int, typer.Option(min=1, help="Gradient steps per cell (environment steps if online).")
    ] = 1000,
    eval_at: Annotated[
        str | None,
        typer.Option(
            help="Evaluation checkpoints, comma-separated, ending at --steps (default: the 1-2-5 "
            "series from steps/20); the last is the headline."
        ),
    ] = None,
    pool: Annotated[
        str,
        typer.Option(
            help="Episodes the trajectories are drawn from: all, tuning (the first 20%) or "
            "evaluation (the rest)."
        ),
    ] = "all",
    configs: Annotated[
        Path | None,
        typer.Option(help="choice.json of `offline-iq tune`: each learner's chosen options."),
    ] = None,
    eval_episodes: Annotated[int, typer.Option(min=1, help="Episodes per evaluation.")] = 10,
    subsample: Annotated[
        int | None, typer.Option(min=1, help="Keep every k-th transition (default: paper's).")
    ] = None,
    no_subsample: Annotated[
        bool, typer.Option("--no-subsample", help="Keep every transition.")
    ] = False,
    scaler: Annotated[
        str,
        typer.Option(
            help="Observation scaler of every algorithm: auto (clipped offline with discrete "
            "actions, else standard), standard, clipped or none."
        ),
    ] = "auto",
    out: Annotated[Path, typer.Option(help="Results folder (CSV, markdown, PNG).")] = Path(
        "runs/benchmark"
    ),
    executor: Annotated[str, typer.Option(help="local (processes) or ray.")] = "local",
    workers: Annotated[int, typer.Option(min=1, help="Parallel cells.")] = 2,
    address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    device: Annotated[str, typer.Option(help="torch device, e.g. cpu:0 or cuda:0.")] = "cpu:0",
    bootstrap_reps: Annotated[int, typer.Option(min=100, help=REPS_HELP)] = 2000,
    bootstrap_seed: Annotated[int, typer.Option(help=SEED_HELP)] = 0,
) -> None:
    """Compare algorithms over datasets x expert trajectories x seeds; rerun to resume."""
    datasets = list(dataset or DEFAULT_DATASETS)
    algos = list(algo or DEFAULT_ALGORITHMS)
    for name in algos:
        try:
            parse_algorithm(name)
        except ValueError as err:
            raise typer.BadParameter(str(err)) from err
    try:
        check_scaler(scaler)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
    if executor not in EXECUTORS:
        raise typer.BadParameter(
            f"unknown executor {executor!r}; choose from {', '.join(EXECUTORS)}"
        )
    for name in datasets:
        try:
            resolve_data_path(name)
        except FileNotFoundError as err:
            raise typer.BadParameter(str(err)) from err
    if pool not in POOLS:
        raise typer.BadParameter(f"unknown pool {pool!r}; choose from {', '.join(POOLS)}")
    try:
        logged_map = logged_datasets(list(logged or []), datasets)
        for name in set(logged_map.values()):
            resolve_data_path(name)
    except (ValueError, FileNotFoundError) as err:
        raise typer.BadParameter(str(err), param_hint="--logged") from err
    try:
        options = read_choice(configs) if configs else None
        cells = make_grid(
            datasets,
            algos,
            _int_list(trajectories, "trajectories"),
            list(range(seeds)),
            steps=steps,
            eval_episodes=eval_episodes,
            subsample=subsample,
            no_subsample=no_subsample,
            scaler=scaler,
            pool=pool,
            eval_at=_int_list(eval_at, "eval-at") if eval_at else None,
            options=options,
            logged=logged_map,
        )
    except (ValueError, OSError) as err:
        raise typer.BadParameter(str(err)) from err
    store = ResultsStore(out / "results.csv")
    try:
        store.check_appendable()
        done = store.done_keys()
    except ValueError as err:  # a results file of another version
        raise typer.BadParameter(str(err), param_hint="--out") from err
    pending = [cell for cell in cells if cell.key() not in done]
    console.print(f"{len(cells)} cells, {len(cells) - len(pending)} already in {store.path}")
    with tqdm(total=len(cells), initial=len(cells) - len(pending), desc="benchmark") as bar:
        for result in run_cells(
            pending, executor=executor, workers=workers, address=address, device=device
        ):
            store.append(result)
            bar.set_postfix_str(f"{result.dataset} {result.algo} n={result.n_trajectories}")
            bar.update()
    keys = {cell.key() for cell in cells}
    frame = store.frame()
    _report(frame[frame["key"].isin(keys)], out, bootstrap_reps, bootstrap_seed)


def _report(frame: pd.DataFrame, out: Path, reps: int, seed: int) -> None:
    table, verdicts, written = write_report(frame, out, reps=reps, seed=seed)
    console.print(table)
    console.print(f"wrote {', '.join(map(str, written))}")
    console.print(f"IQ-Learn against each baseline, P(iq > baseline) [95% CI]:\n{verdicts}")


@app.command("summarize")
def summarize_cmd(
    results: Annotated[Path, typer.Argument(help="A benchmark's --out folder (or its CSV).")],
    bootstrap_reps: Annotated[int, typer.Option(min=100, help=REPS_HELP)] = 2000,
    bootstrap_seed: Annotated[int, typer.Option(help=SEED_HELP)] = 0,
) -> None:
    """Rewrite summary.md (tables, rliable verdicts), returns.png and profiles.png from a CSV."""
    csv_path = results if results.suffix == ".csv" else results / "results.csv"
    if not csv_path.is_file():
        raise typer.BadParameter(f"no results file at {csv_path}", param_hint="RESULTS")
    try:
        frame = ResultsStore(csv_path).frame()
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="RESULTS") from err
    _report(frame, csv_path.parent, bootstrap_reps, bootstrap_seed)
