"""Issue 19's acceptance over every online run given: one row per run for the policy read, and per
environment how many runs pass with the final normalised score's IQM and mean (rliable,
stratified bootstrap over runs, 95% CIs).

A run passes when its read policy first reaches ``reach`` (90%) of the expert, no evaluation in
the next ``--hold`` steps is below ``floor`` (80%), and its last evaluation (the budget fixed in
advance, never the best seen) is at least ``final`` (95%): :func:`judge_curve`.

Run: ``.venv/bin/python benchmarks/online_acceptance.py SOURCE... [--policy ema_0.0001]
[--hold 50000] [--against SOURCE... [--against-policy last]]``; a SOURCE is as for
``stability_figure.py`` (a run folder, a CSV it wrote, or ``CSV::RUN``). With ``--against``
(e.g. the default's runs beside a candidate's, or ValueDICE's read by its last iterate), both
sets are judged and, per environment, over the seeds both ran, rliable's probability that the
first set's final score exceeds the second's, with its 95% CI and verdict (``better`` /
``worse`` only when the whole CI is on one side of 0.5). Prints Markdown.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from stability_figure import Run, judge_policy, read_sources

from offline_iq.benchmark.online_criteria import CurveVerdict
from offline_iq.benchmark.statistics import (
    ScoreSet,
    interval_estimates,
    probability_of_improvement,
)


@dataclass(frozen=True)
class Judged:
    """One run's verdict for the policy read."""

    run: Run
    verdict: CurveVerdict
    last_five: float

    @property
    def passes(self) -> bool:
        return bool(self.verdict.held) and self.verdict.passes_final


def judge_runs(runs: list[Run], policy: str, hold: int) -> list[Judged]:
    """Judge ``policy``'s curve of every run against its dataset's expert score."""
    return [Judged(run, *judge_policy(run, policy, hold)) for run in runs]


def run_rows(judged: list[Judged]) -> list[str]:
    lines = [
        "| environment | run | seed | options | steps | reached 90% at | dips < 80% (window) "
        "| worst | final | last 5 | passes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for j in judged:
        v, run = j.verdict, j.run
        options = run.settings()
        worst = "-" if v.worst_after is None else f"{v.worst_after:.2f}"
        reasons = (
            ["never reaches 90%"]
            if v.reached_at is None
            else [{True: "", False: "hold fails", None: "window short"}[v.held]]
        )
        reasons += [] if v.passes_final else [f"final {v.final:.3f} < 0.95"]
        why = "; ".join(r for r in reasons if r)
        lines.append(
            f"| {run.online} | {run.name} | {run.seed} | {options} | "
            f"{int(run.curves.env_steps.max()):,} | {v.reached_at or 'never'} | "
            f"{v.dips} ({v.window_evaluations}) | {worst} | {v.final:.2f} | {j.last_five:.2f} | "
            f"{'**yes**' if j.passes else f'no: {why}'} |"
        )
    return lines


def summary_rows(judged: list[Judged], reps: int = 2000) -> list[str]:
    """Per environment: passes / runs, held / reached, final score IQM and mean [95% CI]."""
    lines = [
        "| environment | runs | pass | reach 90% | hold | final >= 95% | final IQM [95% CI] "
        "| final mean [95% CI] |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for env in dict.fromkeys(j.run.online for j in judged):
        group = [j for j in judged if j.run.online == env]
        finals = np.array([[j.verdict.final] for j in group])
        if len(group) >= 2:
            scores = ScoreSet({"read": finals}, [(env, 1, 1)], list(range(len(group))))
            row = interval_estimates(scores, reps=reps).iloc[0]
            iqm = f"{row.iqm:.2f} [{row.iqm_lo:.2f}, {row.iqm_hi:.2f}]"
            mean = f"{row['mean']:.2f} [{row.mean_lo:.2f}, {row.mean_hi:.2f}]"
        else:
            iqm = mean = f"{finals[0, 0]:.2f} (one run)"
        lines.append(
            f"| {env} | {len(group)} | {sum(j.passes for j in group)} | "
            f"{sum(j.verdict.reached_at is not None for j in group)} | "
            f"{sum(bool(j.verdict.held) for j in group)} | "
            f"{sum(j.verdict.passes_final for j in group)} | {iqm} | {mean} |"
        )
    return lines


def improvement_rows(judged: list[Judged], against: list[Judged], reps: int = 2000) -> list[str]:
    """Per environment, over the seeds both sets ran: P(first final > second final) [95% CI]."""
    lines = [
        "| environment | seeds | P(runs > against) [95% CI] | verdict |",
        "|---|---|---|---|",
    ]
    for env in dict.fromkeys(j.run.online for j in judged):
        ours = {j.run.seed: j.verdict.final for j in judged if j.run.online == env}
        theirs = {j.run.seed: j.verdict.final for j in against if j.run.online == env}
        seeds = sorted(set(ours) & set(theirs))
        if len(seeds) < 2:
            lines.append(f"| {env} | {len(seeds)} | - | fewer than 2 common seeds |")
            continue
        scores = ScoreSet(
            {"runs": np.array([[ours[s]] for s in seeds]),
             "against": np.array([[theirs[s]] for s in seeds])},
            [(env, 1, 1)],
            seeds,
        )  # fmt: skip
        row = probability_of_improvement(scores, reference="runs", reps=reps).iloc[0]
        lines.append(
            f"| {env} | {', '.join(map(str, seeds))} | {row.p:.2f} [{row.p_lo:.2f}, "
            f"{row.p_hi:.2f}] | {row.verdict} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", help="run folder, CSV, or CSV::RUN")
    parser.add_argument("--policy", default="ema_0.0001", help="the policy read (default EMA 1e-4)")
    parser.add_argument("--hold", type=int, default=50_000)
    parser.add_argument("--against", nargs="+", default=[], help="runs to compare with")
    parser.add_argument(
        "--against-policy", default=None, help="the policy read in --against (default --policy)"
    )
    args = parser.parse_args()
    judged = judge_runs(read_sources(args.sources), args.policy, args.hold)
    lines = [*summary_rows(judged), "", *run_rows(judged)]
    if args.against:
        policy = args.against_policy or args.policy
        against = judge_runs(read_sources(args.against), policy, args.hold)
        lines += ["", "Against:", "", *summary_rows(against), "", *run_rows(against), "",
                  *improvement_rows(judged, against)]  # fmt: skip
    print("\n".join(lines))


if __name__ == "__main__":
    main()
