"""``offline-iq rewards``: score the reward a trained IQ-Learn model recovered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import gymnasium as gym
import typer
from rich.table import Table

from offline_iq.cli.app import app, console
from offline_iq.data import DatasetNotFoundError, load_minari


def _load_model(path: Path, device: str = "cpu:0") -> Any:
    import d3rlpy

    import offline_iq  # noqa: F401  (registers the algorithms)

    if path.is_dir():
        path = path / "checkpoint.d3"
    if not path.exists():
        raise typer.BadParameter(f"no model at {path}")
    return d3rlpy.load_learnable(str(path), device=device)


@app.command()
def rewards(
    model_path: Annotated[Path, typer.Argument(help="IQ-Learn .d3 model or `fit` folder.")],
    source: Annotated[str, typer.Argument(help="Minari dataset id/path, or a gymnasium env id.")],
    episodes: Annotated[int, typer.Option(min=1, help="Rollout episodes (env source).")] = 20,
    seed: Annotated[int, typer.Option(help="First rollout seed.")] = 0,
    plot: Annotated[Path | None, typer.Option(help="Scatter plot path (PNG).")] = None,
    device: Annotated[str, typer.Option(help="torch device, e.g. cpu:0 or cuda:0.")] = "cpu:0",
) -> None:
    """Correlate recovered with true rewards (Pearson, Spearman; per transition and episode)."""
    from offline_iq.rewards import (
        RecoveredReward,
        collect_rollouts,
        plot_reward_scatter,
        sample_from_dataset,
        score_recovered_reward,
    )

    model = _load_model(model_path, device)
    try:
        reward = RecoveredReward.from_algo(model)
    except TypeError as err:
        raise typer.BadParameter(str(err)) from err
    try:
        sample = sample_from_dataset(load_minari(source))
        where = f"dataset {source}"
    except DatasetNotFoundError:
        if source not in gym.registry:
            raise typer.BadParameter(
                f"{source!r} is neither a Minari dataset nor a gymnasium environment id"
            ) from None
        sample = collect_rollouts(model, gym.make(source), episodes, seed=seed)
        where = f"{episodes} rollouts in {source} (epsilon-random mix of the policy)"
    recovered, rows = score_recovered_reward(reward, sample, model.config.gamma)
    table = Table(title=f"recovered vs true reward on {where}")
    for column in ("level", "method", "correlation [95% CI]", "n"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.level, row.method, row.describe(), str(row.n))
    console.print(table)
    out = plot or Path("runs") / "rewards" / f"{model_path.stem}.png"
    plot_reward_scatter(recovered, sample, out, title=where)
    console.print(f"wrote {out}")
