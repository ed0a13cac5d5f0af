"""``offline-iq train-expert``: a d3rlpy SAC expert on the true reward, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from offline_iq.cli.app import EnvKwargOption, app, console, env_kwargs_from


@app.command("train-expert")
def train_expert_cmd(
    env_id: Annotated[str, typer.Argument(help="Gymnasium id, e.g. Hopper-v5.")],
    algo: Annotated[str, typer.Option(help="sac or td3 (d3rlpy's own).")] = "sac",
    steps: Annotated[int, typer.Option(min=1, help="Total environment steps.")] = 300_000,
    chunk_steps: Annotated[
        int, typer.Option(min=1, help="Steps between evaluations and checkpoints.")
    ] = 10_000,
    out: Annotated[
        Path | None, typer.Option(help="Checkpoint folder (default experts/<env>).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    refill_steps: Annotated[
        int,
        typer.Option(
            min=0, help="Steps collected without updates when resuming without buffer.h5."
        ),
    ] = 10_000,
    from_best: Annotated[
        bool,
        typer.Option(
            help="Resume from best.d3's weights, not the last model's (the step count goes on; "
            "recorded in state.json's restarts)."
        ),
    ] = False,
    env_kwarg: EnvKwargOption = None,  # stored in state.json, reused on resume
    device: Annotated[str, typer.Option(help="torch device.")] = "cpu:0",
) -> None:
    """Train an expert with checkpoints; rerun with the same --out to resume."""
    from offline_iq.experts.train import train_expert

    folder = out or Path("experts") / env_id.replace("/", "-")
    env_kwargs = env_kwargs_from(env_kwarg)
    try:
        train_expert(env_id, folder, algo=algo, steps=steps, chunk_steps=chunk_steps, seed=seed,
                     device=device, refill_steps=refill_steps, from_best=from_best,
                     env_kwargs=env_kwargs, log=console.print)  # fmt: skip
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
