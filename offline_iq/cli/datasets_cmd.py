"""``offline-iq datasets`` and ``offline-iq collect``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from offline_iq.cli.app import EnvKwargOption, app, console, env_kwargs_from, fmt


@app.command()
def datasets(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the shipped and local Minari datasets with their returns and reference scores."""
    from offline_iq.data.catalog import list_datasets

    rows, problems = list_datasets()
    if as_json:
        typer.echo(json.dumps([row.__dict__ for row in rows], indent=2))
    else:
        table = Table(title="Minari datasets")
        for column in (
            "id",
            "source",
            "env",
            "episodes",
            "steps",
            "mean return",
            "ref min",
            "ref max",
        ):
            table.add_column(
                column, justify="left" if column in ("id", "source", "env") else "right"
            )
        for row in rows:
            table.add_row(
                row.dataset_id,
                row.source,
                row.env_id or "-",
                str(row.episodes),
                str(row.steps),
                f"{row.mean_return:.1f} ± {row.std_return:.1f}",
                fmt(row.ref_min_score),
                fmt(row.ref_max_score),
            )
        console.print(table)
        if not rows:
            console.print("No datasets found.")
    for problem in problems:
        console.print(f"[red]unreadable dataset[/red] {problem}")


@app.command()
def collect(
    env_id: Annotated[str, typer.Argument(help="Gymnasium id, e.g. CartPole-v1.")],
    dataset_id: Annotated[str, typer.Option(help="Minari id to create, e.g. cartpole/expert-v0.")],
    episodes: Annotated[
        int | None,
        typer.Option(min=1, help="Episodes to record (default 50; for mixed, the mix's total)."),
    ] = None,
    policy: Annotated[
        str,
        typer.Option(
            help="expert (built-in controller or --expert-model), random (uniform actions), "
            "medium (the expert taking a uniform random action with probability --epsilon "
            "per step) or mixed (unlabelled shuffled random, medium and expert episodes, see "
            "--mix)."
        ),
    ] = "expert",
    seed: Annotated[int, typer.Option(help="First reset seed; episode i uses seed + i.")] = 0,
    root: Annotated[
        Path | None, typer.Option(help="Minari store to write to (default: the local store).")
    ] = None,
    continuous: Annotated[
        bool, typer.Option(help="Continuous-action variant (LunarLander-v3).")
    ] = False,
    env_kwarg: EnvKwargOption = None,  # recorded in the dataset's env_spec
    reference_episodes: Annotated[
        int, typer.Option(min=1, help="Episodes for each reference score.")
    ] = 50,
    expert_model: Annotated[
        Path | None,
        typer.Option(help="Saved d3rlpy expert (e.g. experts/Hopper-v5/best.d3) to record."),
    ] = None,
    epsilon: Annotated[
        float | None,
        typer.Option(help="medium/mixed: probability in [0, 1] of a random action per step."),
    ] = None,
    target_score: Annotated[
        float | None,
        typer.Option(
            help="medium/mixed without --epsilon: calibrate epsilon by bisection on the "
            "reference seeds so the normalised score is about this (default 0.5)."
        ),
    ] = None,
    calibration_episodes: Annotated[
        int, typer.Option(min=1, help="Episodes per calibration point (6 points).")
    ] = 15,
    mix: Annotated[
        str | None,
        typer.Option(
            help="mixed: episode counts per source, SOURCE=COUNT separated by commas "
            "(sources random, medium, expert; default random=20,medium=20,expert=10)."
        ),
    ] = None,
    reference_dataset: Annotated[
        str | None,
        typer.Option(
            help="Expert dataset whose reference scores to reuse (medium/mixed default: "
            "<namespace>/expert-v0 when it exists)."
        ),
    ] = None,
    verify_reference: Annotated[
        bool,
        typer.Option(help="Recompute the reused reference scores and fail if they differ."),
    ] = False,
) -> None:
    """Record demonstrations with Minari's DataCollector, with reference scores and seeds.

    Logged (non-expert) data: `--policy medium --epsilon 0.3`, or `--policy medium
    --target-score 0.5` to calibrate epsilon; `--policy mixed --mix random=20,medium=20,expert=10`.
    Their seeds must avoid the other datasets of the environment, the reference seeds
    (1,000,000+) and the benchmark's evaluation seeds (10,000-109,999): use e.g. --seed 400000.
    """
    from offline_iq.experts.collect import POLICY_KINDS, collect_dataset

    if policy not in POLICY_KINDS:
        kinds = ", ".join(POLICY_KINDS)
        raise typer.BadParameter(f"policy must be one of {kinds}, got {policy!r}")
    if episodes is None and policy != "mixed":
        episodes = 50
    env_kwargs = env_kwargs_from(env_kwarg) or {}
    if continuous:
        env_kwargs["continuous"] = True
    try:
        dataset = collect_dataset(
            env_id,
            dataset_id=dataset_id,
            n_episodes=episodes,
            policy=policy,  # type: ignore[arg-type]
            seed=seed,
            root=root,
            reference_episodes=reference_episodes,
            env_kwargs=env_kwargs,
            expert_model=expert_model,
            epsilon=epsilon,
            target_score=target_score,
            calibration_episodes=calibration_episodes,
            mix=mix,
            reference_dataset=reference_dataset,
            verify_reference=verify_reference,
        )
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
    meta = dataset.storage.metadata
    console.print(
        f"wrote {dataset.id}: {dataset.total_episodes} episodes, {dataset.total_steps} steps; "
        f"ref_min_score {meta['ref_min_score']:.1f}, ref_max_score {meta['ref_max_score']:.1f}"
    )
    provenance = json.loads(meta.get("offline_iq", "{}"))
    if provenance.get("epsilon") is not None:
        console.print(
            f"epsilon {provenance['epsilon']:g}; normalised score "
            f"{provenance['normalised_score']:.3f} (mean return {provenance['mean_return']:.1f})"
        )
