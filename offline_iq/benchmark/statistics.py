"""Interval estimates and verdicts for benchmark results, computed with ``rliable``.

Every statistic here comes from the ``rliable`` library (Agarwal et al., "Deep Reinforcement
Learning at the Edge of the Statistical Precipice", NeurIPS 2021): IQM and mean of expert-normalised
final scores with stratified-bootstrap confidence intervals, the probability of improvement
P(X > Y) with its interval, and performance profiles. A *task* is one grid point (dataset, kept
transitions, expert trajectories); the *runs* of a task are its seeds.

Verdict rule: IQ-Learn is "better" than a baseline when the whole confidence interval of
P(IQ-Learn > baseline) lies above 0.5, "worse" when it lies below 0.5, else "indistinguishable".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rliable import library as rly
from rliable import metrics, plot_utils

from offline_iq.learners import learner_name
from offline_iq.plotting import save_figure, subplots

__all__ = [
    "AGGREGATE",
    "Comparison",
    "ScoreSet",
    "compare",
    "interval_estimates",
    "iqm_markdown",
    "learner_names",
    "plot_profiles",
    "probability_of_improvement",
    "score_set",
    "verdict",
    "verdict_markdown",
]

TASK = ["dataset", "subsample", "n_trajectories"]
AGGREGATE = "all tasks"
Task = tuple[str, int, int]


def learner_names(frame: pd.DataFrame) -> pd.Series:
    """One name per learner: ``iq``, ``iq-online``, ``iq-logged``, ``demodice``;
    ``iq [clipped]`` where scalers differ;
    ``iq {config}`` where one learner ran with several configurations on one task: several
    chosen option sets, or two configurations for one seed. Settings a learner derives from
    its seed's data (``iq-logged``'s absorbing state, on where the drawn demonstrations never
    terminate) change the config digest from seed to seed, not the learner."""
    index = frame.index
    scaler = frame["scaler"] if "scaler" in frame.columns else pd.Series("", index=index)
    config = frame["config_id"] if "config_id" in frame.columns else pd.Series("", index=index)
    options = frame["options"] if "options" in frame.columns else pd.Series("{}", index=index)
    pairs = pd.DataFrame({"algo": frame["algo"], "mode": frame["mode"], "scaler": scaler})
    several = bool((pairs.groupby(["algo", "mode"])["scaler"].nunique() > 1).any())
    per_task = [c for c in TASK if c in frame.columns]
    per_seed = ["seed"] if "seed" in frame.columns else []
    configs = pairs.assign(
        config=config,
        options=options,
        **{c: frame[c] for c in (*per_task, *per_seed)},
    )
    by_task = configs.groupby(["algo", "mode", *per_task])
    by_seed = configs.groupby(["algo", "mode", *per_task, *per_seed])
    several_configs = bool(
        (by_task["options"].nunique() > 1).any() or (by_seed["config"].nunique() > 1).any()
    )
    names = [
        learner_name(a, m)
        + (f" [{o}]" if several else "")
        + (f" {{{c}}}" if several_configs else "")
        for a, m, o, c in zip(pairs["algo"], pairs["mode"], pairs["scaler"], config, strict=True)
    ]
    return pd.Series(names, index=index, dtype=object)


@dataclass(frozen=True)
class ScoreSet:
    """rliable's input: learner -> normalised final scores of shape (runs, tasks)."""

    scores: dict[str, np.ndarray]
    tasks: list[Task]
    seeds: list[int]
    notes: list[str] = field(default_factory=list)


def task_label(task: Task) -> str:
    dataset, subsample, n = task
    return f"{dataset} (1/{subsample}) n={n}"


def score_set(frame: pd.DataFrame, min_seeds: int = 2) -> ScoreSet:
    """Complete seed sets only: a seed counts where every learner has it on every kept task.

    Tasks that some learner never ran are dropped, then seeds missing anywhere; if fewer than
    ``min_seeds`` seeds remain no task is kept. Duplicate rows of one learner, task and seed (for
    example two step budgets in one file) keep the last. ``notes`` says what was dropped.
    """
    rows = frame.assign(learner=learner_names(frame))
    notes: list[str] = []
    key = ["learner", *TASK, "seed"]
    duplicated = int(rows.duplicated(key, keep="last").sum())
    if duplicated:
        notes.append(f"{duplicated} duplicate rows (same learner, task and seed): kept the last")
        rows = rows.drop_duplicates(key, keep="last")
    learners = sorted(rows["learner"].unique())
    present = rows.groupby(TASK)["learner"].nunique()
    tasks: list[Task] = [
        (str(d), int(k), int(n)) for (d, k, n), c in present.items() if c == len(learners)
    ]
    for missing in sorted(set(present.index) - set(tasks)):
        notes.append(f"dropped task {task_label(missing)}: not every learner ran it")
    kept = rows.set_index(TASK).loc[tasks].reset_index() if tasks else rows.iloc[:0]
    seed_sets = kept.groupby(["learner", *TASK])["seed"].apply(set)
    seeds = sorted(set.intersection(*seed_sets)) if len(seed_sets) else []
    lost = sorted(set(kept["seed"]) - set(seeds))
    if lost:
        notes.append(f"dropped seeds {lost}: missing for some learner or task")
    if len(seeds) < min_seeds:
        if tasks:
            notes.append(f"{len(seeds)} complete seeds (< {min_seeds}): no intervals")
        tasks, seeds = [], []
    table = kept[kept["seed"].isin(seeds)].pivot_table(
        index="seed", columns=[*TASK, "learner"], values="final_normalized", aggfunc="last"
    )
    scores = {
        name: np.array([[table.loc[s, (*t, name)] for t in tasks] for s in seeds], dtype=float)
        for name in learners
    }
    return ScoreSet(scores if tasks else {}, tasks, seeds, notes)


def _seeded(call: Callable[[], Any], seed: int) -> Any:
    """Run an rliable call with numpy's global RNG seeded, then restore the RNG.

    rliable's bootstraps draw their resamples from ``np.random`` (its ``random_state`` argument
    reaches only arch's unused generator), so the global seed is what makes intervals repeatable.
    """
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        return call()
    finally:
        np.random.set_state(state)


def _iqm_and_mean(scores: np.ndarray) -> np.ndarray:
    return np.array([metrics.aggregate_iqm(scores), metrics.aggregate_mean(scores)])


def interval_estimates(scores: ScoreSet, reps: int = 2000, seed: int = 0) -> pd.DataFrame:
    """IQM and mean over all runs and tasks with stratified-bootstrap 95% CIs, per learner."""
    points, cis = _seeded(
        lambda: rly.get_interval_estimates(scores.scores, _iqm_and_mean, reps=reps), seed
    )
    return pd.DataFrame(
        [
            {
                "learner": name,
                "iqm": points[name][0],
                "iqm_lo": cis[name][0, 0],
                "iqm_hi": cis[name][1, 0],
                "mean": points[name][1],
                "mean_lo": cis[name][0, 1],
                "mean_hi": cis[name][1, 1],
            }
            for name in scores.scores
        ]
    )


def verdict(lo: float, hi: float) -> str:
    """The rule of this module: the whole CI of P(reference > baseline) against 0.5."""
    if lo > 0.5:
        return "better"
    if hi < 0.5:
        return "worse"
    return "indistinguishable"


def probability_of_improvement(
    scores: ScoreSet, reference: str = "iq", reps: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """P(reference > baseline) with its 95% CI and the verdict, for every other learner."""
    baselines = [name for name in scores.scores if name != reference]
    if reference not in scores.scores or not baselines:
        return pd.DataFrame(columns=["baseline", "p", "p_lo", "p_hi", "verdict"])
    pairs = {b: (scores.scores[reference], scores.scores[b]) for b in baselines}
    points, cis = _seeded(
        lambda: rly.get_interval_estimates(pairs, metrics.probability_of_improvement, reps=reps),
        seed,
    )
    rows = []
    for b in baselines:
        lo, hi = float(np.ravel(cis[b])[0]), float(np.ravel(cis[b])[1])
        p = float(np.ravel(points[b])[0])
        rows.append({"baseline": b, "p": p, "p_lo": lo, "p_hi": hi, "verdict": verdict(lo, hi)})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Comparison:
    """Per grid point and aggregated (scope ``AGGREGATE``): interval and verdict tables."""

    intervals: pd.DataFrame
    verdicts: pd.DataFrame
    reference: str
    reps: int
    seed: int
    notes: list[str]
    aggregate: ScoreSet


def compare(
    frame: pd.DataFrame, reference: str = "iq", reps: int = 2000, seed: int = 0, min_seeds: int = 2
) -> Comparison:
    """Intervals and verdicts of ``reference`` against every other learner, fixed bootstrap seed."""
    aggregate = score_set(frame, min_seeds)
    notes = list(aggregate.notes)
    scopes: list[tuple[str, ScoreSet]] = []
    for task, part in frame.groupby(TASK, sort=True):
        one = score_set(part, min_seeds)
        said = [n for n in one.notes if n not in aggregate.notes]  # the pooled note says it
        notes += [f"{task_label(task)}: {note}" for note in said]
        if one.tasks:
            scopes.append((task_label(one.tasks[0]), one))
    if len(aggregate.tasks) > 1:
        scopes.append((AGGREGATE, aggregate))
    intervals, verdicts = [], []
    for scope, scores in scopes:
        intervals.append(interval_estimates(scores, reps, seed).assign(scope=scope))
        improvement = probability_of_improvement(scores, reference, reps, seed)
        verdicts.append(improvement.assign(scope=scope, seeds=len(scores.seeds)))
    return Comparison(
        pd.concat(intervals, ignore_index=True) if intervals else pd.DataFrame(),
        pd.concat(verdicts, ignore_index=True) if verdicts else pd.DataFrame(),
        reference,
        reps,
        seed,
        notes,
        aggregate,
    )


def verdict_markdown(comparison: Comparison) -> str:
    """Rows = grid points and ``all tasks``; cells ``verdict P [lo, hi]`` against each baseline."""
    ref, table = comparison.reference, comparison.verdicts
    if table.empty:
        return f"No verdicts: no grid point has {ref!r} and another learner on 2+ complete seeds."
    baselines = sorted(table["baseline"].unique())
    lines = [
        "| grid point | seeds | " + " | ".join(f"{ref} vs {b}" for b in baselines) + " |",
        "|---|---:|" + "---|" * len(baselines),
    ]
    for scope, part in table.groupby("scope", sort=False):
        cells = []
        for b in baselines:
            hit = part[part["baseline"] == b]
            r = hit.iloc[0] if len(hit) else None
            cells.append(
                "-" if r is None else f"{r.verdict} {r.p:.2f} [{r.p_lo:.2f}, {r.p_hi:.2f}]"
            )
        lines.append(f"| {scope} | {part['seeds'].iloc[0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def iqm_markdown(comparison: Comparison) -> str:
    """Rows = grid points and ``all tasks``; cells ``IQM [95% CI]`` (mean in the last rows)."""
    table = comparison.intervals
    if table.empty:
        return "No intervals: no grid point has 2+ complete seeds."
    learners = sorted(table["learner"].unique())
    lines = [
        "| grid point | statistic | " + " | ".join(learners) + " |",
        "|---|---|" + "---:|" * len(learners),
    ]
    for scope, part in table.groupby("scope", sort=False):
        stats = ["iqm", "mean"] if scope == AGGREGATE else ["iqm"]
        for stat in stats:
            cells = []
            for name in learners:
                hit = part[part["learner"] == name]
                r = hit.iloc[0] if len(hit) else None
                cells.append(
                    "-"
                    if r is None
                    else f"{r[stat]:.2f} [{r[stat + '_lo']:.2f}, {r[stat + '_hi']:.2f}]"
                )
            lines.append(f"| {scope} | {stat.upper()} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_profiles(
    scores: ScoreSet, path: str | Path, reps: int = 2000, seed: int = 0
) -> Path | None:
    """Score distributions (rliable's performance profiles) over every run and task."""
    if not scores.scores:
        return None
    every = np.concatenate([s.ravel() for s in scores.scores.values()])
    tau = np.linspace(min(0.0, float(every.min())), max(1.0, float(every.max())), 101)
    profiles, cis = _seeded(
        lambda: rly.create_performance_profile(scores.scores, tau, reps=reps), seed
    )
    fig, axes = subplots(1, figsize=(6.0, 4.0))
    plot_utils.plot_performance_profiles(
        profiles,
        tau,
        performance_profile_cis=cis,
        xlabel=r"normalised score $\tau$",
        ax=axes[0],
        legend=True,
        labelsize="medium",
        ticklabelsize="medium",
        legendsize="small",
    )
    title = f"{len(scores.tasks)} tasks x {len(scores.seeds)} seeds"
    return save_figure(fig, path, title=f"Performance profiles ({title})")
