"""Turn benchmark results into a markdown table and return-vs-trajectories plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from offline_iq.benchmark.curves import curve_table, plot_curves
from offline_iq.benchmark.statistics import (
    Comparison,
    compare,
    iqm_markdown,
    learner_names,
    plot_profiles,
    verdict_markdown,
)
from offline_iq.plotting import save_figure, subplots

__all__ = ["plot_results", "statistics_markdown", "summarize", "to_markdown", "write_report"]


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of final raw and normalised returns per grid point.

    Results files written before the observation scaler was recorded read as ``unrecorded``.
    """
    if "scaler" not in frame.columns:
        frame = frame.assign(scaler="unrecorded")
    keys = ["dataset", "mode", "subsample", "n_trajectories", "algo", "scaler"]
    grouped = frame.groupby(keys)
    out = grouped.agg(
        seeds=("seed", "nunique"),
        final_mean=("final_return", "mean"),
        final_std=("final_return", "std"),
        norm_mean=("final_normalized", "mean"),
        norm_std=("final_normalized", "std"),
        steps_per_s=("grad_steps_per_s", "mean"),
        wall_s=("wall_time_s", "mean"),
        ref_min=("ref_min_score", "first"),
        ref_max=("ref_max_score", "first"),
    )
    out = out.fillna({"final_std": 0.0, "norm_std": 0.0}).reset_index()
    # one column / line per learner: online cells read "iq-online" beside offline "iq" and "bc";
    # where one learner ran with several observation scalers, "iq [clipped]" and so on
    out["learner"] = learner_names(out)
    return out


def to_markdown(summary: pd.DataFrame) -> str:
    """One table per dataset: rows = trajectories, columns = algorithms.

    Cells read ``normalised final score (mean ± std over seeds) [raw final return]``;
    1.00 is the expert (Minari's ``ref_max_score``), 0.00 a uniform random policy.
    """
    lines = []
    for (dataset, subsample), part in summary.groupby(["dataset", "subsample"]):
        algos = sorted(part["learner"].unique())
        seeds = int(part["seeds"].max())
        lines += [
            f"### {dataset} (every {subsample}. transition, {seeds} seeds)",
            "",
            "| trajectories | " + " | ".join(algos) + " |",
            "|---:|" + "---:|" * len(algos),
        ]
        for n, row in part.groupby("n_trajectories"):
            cells = []
            for algo in algos:
                hit = row[row["learner"] == algo]
                if hit.empty:
                    cells.append("-")
                    continue
                r = hit.iloc[0]
                cells.append(f"{r.norm_mean:.2f} ± {r.norm_std:.2f} [{r.final_mean:.1f}]")
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def plot_results(summary: pd.DataFrame, path: str | Path) -> Path:
    """Return against number of expert trajectories, one line per algorithm (paper, Fig. 2)."""
    groups = list(summary.groupby(["dataset", "subsample"]))
    fig, axes = subplots(len(groups), figsize=(4.5 * len(groups), 3.6))
    for ax, ((dataset, subsample), part) in zip(axes, groups, strict=True):
        for algo, line in part.groupby("learner"):
            line = line.sort_values("n_trajectories")
            ax.plot(line["n_trajectories"], line["final_mean"], marker="o", label=str(algo))
            ax.fill_between(
                line["n_trajectories"],
                line["final_mean"] - line["final_std"],
                line["final_mean"] + line["final_std"],
                alpha=0.2,
            )
        ax.axhline(part["ref_max"].iloc[0], color="k", linestyle="--", linewidth=1, label="expert")
        ax.axhline(
            part["ref_min"].iloc[0], color="grey", linestyle="--", linewidth=1, label="random"
        )
        ax.set_title(f"{dataset} (1/{subsample})")
        ax.set_xlabel("expert trajectories")
        ax.set_ylabel("return")
    axes[0].legend(loc="best", fontsize="small")
    return save_figure(fig, path)


VERDICT_RULE = (
    "Verdicts of {ref} against each baseline come only from intervals: P({ref} > baseline), the "
    "probability that a run of {ref} scores above a run of the baseline on the same grid point "
    "(rliable's probability of improvement), with a stratified-bootstrap 95% CI "
    '({reps} replications, seed {seed}). "better": the whole CI lies above 0.5; "worse": '
    'below 0.5; else "indistinguishable". Only complete seed sets count (every learner, every '
    'grid point); "all tasks" pools the grid points (runs x tasks).'
)


def statistics_markdown(comparison: Comparison) -> tuple[str, str]:
    """The verdict table alone (to print) and the whole statistics section of ``summary.md``."""
    verdicts = verdict_markdown(comparison)
    rule = VERDICT_RULE.format(ref=comparison.reference, reps=comparison.reps, seed=comparison.seed)
    notes = [f"- {note}" for note in comparison.notes]
    section = [
        "## Verdicts (rliable)",
        "",
        rule,
        "",
        verdicts,
        "",
        "## IQM of normalised final scores, 95% stratified-bootstrap CIs",
        "",
        iqm_markdown(comparison),
        "",
        *(["Dropped before the statistics:", "", *notes, ""] if notes else []),
    ]
    return verdicts, "\n".join(section)


def write_report(
    frame: pd.DataFrame, out: Path, reps: int = 2000, seed: int = 0
) -> tuple[str, str, list[Path]]:
    """Write ``summary.md``, ``returns.png``, ``profiles.png``, ``curves.png`` and
    ``curves.csv`` in ``out``.

    Returns the mean ± std table, the verdict table and the paths written.
    """
    summary = summarize(frame)
    table = to_markdown(summary)
    names = set(summary["learner"])
    # IQ-Learn with the logs where it ran (the question of a logged benchmark), else IQ-Learn
    reference = "iq-logged" if "iq-logged" in names else "iq"
    comparison = compare(frame, reference=reference, reps=reps, seed=seed)
    verdicts, section = statistics_markdown(comparison)
    (out / "summary.md").write_text(
        "Normalised final score, mean ± std over seeds [raw return]; 1.00 = expert.\n\n"
        + table
        + "\n"
        + section
    )
    written = [out / "summary.md", plot_results(summary, out / "returns.png")]
    profile = plot_profiles(comparison.aggregate, out / "profiles.png", reps=reps, seed=seed)
    written += [profile] if profile else []
    curves = plot_curves(frame, out / "curves.png")
    if curves is not None:
        curve_table(frame).to_csv(out / "curves.csv", index=False)
        written += [curves, out / "curves.csv"]
    return table, verdicts, written
