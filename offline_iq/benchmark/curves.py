"""Learning curves of benchmark cells: every checkpoint's evaluation, as a table and a figure.

Each row of the results CSV holds its curve (``eval_steps``, ``eval_returns``,
``eval_normalized``, ``;``-separated). The headline is the last checkpoint; the curves show
how the verdict would move with the budget, never to pick a budget after the fact.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from offline_iq.benchmark.statistics import learner_names
from offline_iq.plotting import save_figure

__all__ = ["curve_table", "plot_curves"]


def _floats(text: object) -> list[float]:
    return [float(v) for v in str(text).split(";") if v != ""]


def curve_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per cell and checkpoint: ``learner``, task, ``seed``, ``step``, ``normalized``."""
    rows = []
    names = learner_names(frame)
    for (_, cell), learner in zip(frame.iterrows(), names, strict=True):
        steps = _floats(cell["eval_steps"])
        scores = _floats(cell["eval_normalized"])
        returns = _floats(cell["eval_returns"])
        if not len(steps) == len(scores) == len(returns):
            raise ValueError(f"cell {cell['key']} has a malformed curve")
        for step, score, ret in zip(steps, scores, returns, strict=True):
            rows.append(
                {
                    "dataset": cell["dataset"],
                    "subsample": int(cell["subsample"]),
                    "n_trajectories": int(cell["n_trajectories"]),
                    "learner": learner,
                    "seed": int(cell["seed"]),
                    "step": int(step),
                    "return": ret,
                    "normalized": score,
                }
            )
    return pd.DataFrame(rows)


def plot_curves(frame: pd.DataFrame, path: str | Path) -> Path | None:
    """Mean normalised score ± std over seeds against training steps: a row of panels per
    dataset, a column per number of trajectories, a line per learner (``None`` if no curves)."""
    table = curve_table(frame)
    if table.empty or table["step"].nunique() < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted(table[["dataset", "subsample"]].drop_duplicates().itertuples(index=False))
    counts = sorted(table["n_trajectories"].unique())
    fig, axes = plt.subplots(
        len(datasets),
        len(counts),
        figsize=(3.4 * len(counts), 2.8 * len(datasets)),
        squeeze=False,
        sharex=True,
    )
    for i, (dataset, subsample) in enumerate(datasets):
        for j, n in enumerate(counts):
            ax = axes[i][j]
            part = table[
                (table["dataset"] == dataset)
                & (table["subsample"] == subsample)
                & (table["n_trajectories"] == n)
            ]
            for learner, line in part.groupby("learner"):
                stats = line.groupby("step")["normalized"].agg(["mean", "std"]).fillna(0.0)
                ax.plot(stats.index, stats["mean"], marker=".", label=str(learner))
                ax.fill_between(
                    stats.index,
                    stats["mean"] - stats["std"],
                    stats["mean"] + stats["std"],
                    alpha=0.15,
                )
            ax.axhline(1.0, color="k", linestyle="--", linewidth=0.8)
            ax.axhline(0.0, color="grey", linestyle="--", linewidth=0.8)
            ax.set_xscale("log")
            ticks = sorted(part["step"].unique())
            ax.set_xticks(ticks, [f"{t / 1000:g}k" if t >= 1000 else str(t) for t in ticks])
            ax.minorticks_off()
            ax.set_title(f"{dataset} (1/{subsample}) n={n}", fontsize="small")
            if j == 0:
                ax.set_ylabel("normalised score")
            if i == len(datasets) - 1:
                ax.set_xlabel("training steps")
    axes[0][0].legend(loc="best", fontsize="x-small")
    return save_figure(fig, path)
