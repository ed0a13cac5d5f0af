"""``offline-iq rewards``: score the reward a trained IQ-Learn model recovered.

On a dataset it scores, by default, only the episodes the model did not train on (a fit folder
records them in ``state.json``); on an environment id, fresh rollouts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import gymnasium as gym
import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from offline_iq.cli.app import app, console
from offline_iq.data import DatasetNotFoundError, load_minari
from offline_iq.data.sources import resolve_data_path
from offline_iq.training import CHECKPOINT, STATE, RunState

if TYPE_CHECKING:
    from offline_iq.rewards import RewardReport, RewardSample

SPLITS = ("held-out", "training", "all")
ROLLOUTS = ("mixed", "graded")


def _load_model(path: Path, device: str = "cpu:0") -> Any:
    import d3rlpy

    import offline_iq  # noqa: F401  (registers the algorithms)

    if path.is_dir():
        path = path / CHECKPOINT
    if not path.exists():
        raise typer.BadParameter(f"no model at {path}")
    return d3rlpy.load_learnable(str(path), device=device)


def _warn(text: str) -> None:
    console.print(f"[bold red]WARNING:[/] {escape(text)}")


def _run_state(model_path: Path) -> RunState | None:
    """The fit folder's state: ``model_path`` is the folder or its checkpoint."""
    folder = model_path if model_path.is_dir() else model_path.parent
    if not model_path.is_dir() and model_path.name != CHECKPOINT:
        return None
    if not (folder / STATE).is_file():
        return None
    return RunState.from_json((folder / STATE).read_text())


def _trained_on(state: RunState | None, data: Any) -> set[int] | None:
    """Episode ids of ``data`` the model trained on; ``None`` when not recorded."""
    if state is None or state.trained_episodes is None:
        return None
    try:
        trained_path = resolve_data_path(state.dataset)
    except DatasetNotFoundError:  # moved since: assume the same dataset, leave the ids out
        return set(state.trained_episodes)
    if trained_path.resolve() != Path(data.metadata.data_path).resolve():
        return set()  # trained on another dataset: every episode here is unseen
    return set(state.trained_episodes)


def _dataset_sample(model_path: Path, source: str, split: str) -> tuple[RewardSample, str] | None:
    """The dataset's episodes to score on (``split``) and their description; ``None`` when
    ``source`` is not a dataset."""
    from offline_iq.rewards import sample_from_dataset

    try:
        data = load_minari(source)
    except DatasetNotFoundError:
        return None
    ids = set(np.unique(data.transitions.episode_ids).tolist())
    trained = _trained_on(_run_state(model_path), data)
    if trained is None:
        _warn(
            "no record of the episodes this model trained on (a .d3 file, or a fit folder from "
            f"before they were recorded): scoring on every episode of {source}, training "
            "episodes possibly included."
        )
        return sample_from_dataset(data), f"dataset {source}, all {len(ids)} episodes"
    seen = ids & trained
    if split == "held-out":
        if seen == ids:
            raise typer.BadParameter(
                f"the model trained on every episode of {source}: give an environment id to "
                "score on fresh rollouts, or --split all (training-set figures)"
            )
        where = f"dataset {source}, {len(ids - seen)} held-out episodes"
        if seen:
            where += f" ({len(seen)} training episodes left out)"
        return sample_from_dataset(data, exclude_episodes=seen), where
    if not seen and split == "training":
        raise typer.BadParameter(f"the model trained on no episode of {source}")
    if seen:
        _warn(
            f"scoring on {len(seen)} episodes the model TRAINED on (--split {split}): "
            "training-set figures, not evidence on unseen data."
        )
    if split == "training":
        where = f"dataset {source}, {len(seen)} training episodes"
        return sample_from_dataset(data, only_episodes=seen), where
    return sample_from_dataset(data), f"dataset {source}, all {len(ids)} episodes"


def _print_report(report: RewardReport, where: str, resamples: int, seed: int) -> None:
    from offline_iq.rewards.bootstrap import MAX_EPISODES_FOR_BCA

    table = Table(title=f"recovered vs true reward on {where}")
    for column in ("level", "method", "correlation [95% CI]", "n"):
        table.add_column(column)
    for row in report:
        table.add_row(row.level, row.method, escape(row.describe()), str(row.n))
    console.print(table)
    console.print(
        f"CIs: {'BCa' if report.n_episodes <= MAX_EPISODES_FOR_BCA else 'percentile'}, "
        f"resampling whole episodes ({report.n_episodes} episodes, {resamples} "
        f"resamples, seed {seed}). 'episode sum' is the paper's measure; it grows with episode "
        "length, so read it beside 'episode mean' and 'episode sum given length'."
    )
    for note in report.notes:
        style = "bold red" if report.length_confounded else "dim"
        console.print(f"[{style}]{escape(note)}[/]")


def _print_levels(rows: list[dict[str, Any]]) -> None:
    table = Table(title="quality levels of the graded rollouts (means per episode)")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()))
    console.print(table)


@app.command()
def rewards(
    model_path: Annotated[Path, typer.Argument(help="IQ-Learn .d3 model or `fit` folder.")],
    source: Annotated[str, typer.Argument(help="Minari dataset id/path, or a gymnasium env id.")],
    episodes: Annotated[
        int, typer.Option(min=1, help="Rollout episodes (env source; per level if graded).")
    ] = 20,
    rollouts: Annotated[
        str,
        typer.Option(
            help="Env source: mixed (epsilon 0/0.25/0.5/1 in turn) or graded (--episodes at "
            "each epsilon for the model and each --behaviour, with a table of levels)."
        ),
    ] = "mixed",
    behaviour: Annotated[
        list[Path] | None,
        typer.Option(
            "--behaviour",
            "-b",
            help="Another policy for graded rollouts (any d3rlpy .d3, e.g. a train-expert "
            "checkpoint; repeatable).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="First rollout seed; bootstrap seed.")] = 0,
    split: Annotated[
        str,
        typer.Option(
            help="Dataset episodes to score: held-out (those the fit folder did not train on), "
            "training, or all."
        ),
    ] = "held-out",
    resamples: Annotated[int, typer.Option(min=100, help="Episode-bootstrap resamples.")] = 1000,
    plot: Annotated[Path | None, typer.Option(help="Scatter plot path (PNG).")] = None,
    device: Annotated[str, typer.Option(help="torch device, e.g. cpu:0 or cuda:0.")] = "cpu:0",
) -> None:
    """Correlate recovered with true rewards (Pearson, Spearman; per transition and episode),
    with episode-bootstrap CIs; on a dataset, by default only on episodes not trained on."""
    from offline_iq.rewards import (
        RecoveredReward,
        collect_rollouts,
        plot_reward_scatter,
        score_recovered_reward,
    )
    from offline_iq.rewards.graded import collect_graded_rollouts

    if split not in SPLITS:
        raise typer.BadParameter(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    if rollouts not in ROLLOUTS:
        raise typer.BadParameter(
            f"--rollouts must be one of {', '.join(ROLLOUTS)}, got {rollouts!r}"
        )
    if behaviour and rollouts != "graded":
        raise typer.BadParameter("--behaviour is for --rollouts graded")
    model = _load_model(model_path, device)
    try:
        reward = RecoveredReward.from_algo(model)
    except TypeError as err:
        raise typer.BadParameter(str(err)) from err
    found = _dataset_sample(model_path, source, split)
    graded = None
    if found is None:
        if source not in gym.registry:
            raise typer.BadParameter(
                f"{source!r} is neither a Minari dataset nor a gymnasium environment id"
            )
        if rollouts == "graded":
            behaviours = {
                "model": model,
                **{str(p): _load_model(p, device) for p in behaviour or []},
            }
            graded = collect_graded_rollouts(behaviours, gym.make(source), episodes, seed=seed)
            sample = graded.sample
            where = f"graded rollouts in {source} ({len(graded.levels)} levels x {episodes})"
        else:
            sample = collect_rollouts(model, gym.make(source), episodes, seed=seed)
            where = f"{episodes} rollouts in {source} (epsilon-random mix of the policy)"
    else:
        if rollouts == "graded":
            raise typer.BadParameter("--rollouts graded needs a gymnasium environment id")
        sample, where = found
    recovered, report = score_recovered_reward(
        reward, sample, model.config.gamma, n_resamples=resamples, seed=seed
    )
    if graded is not None:
        _print_levels(graded.level_table(recovered))
    _print_report(report, where, resamples, seed)
    out = plot or Path("runs") / "rewards" / f"{model_path.stem}.png"
    plot_reward_scatter(recovered, sample, out, title=where)
    console.print(f"wrote {out}")
