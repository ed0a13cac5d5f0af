"""Figure and table of ``benchmarks/online_stability.py`` runs: one panel per run, one line per
policy scored (last iterate, tracked averages), with the expert, 90% and 80% levels, and each
curve judged by :func:`~offline_iq.benchmark.online_criteria.judge_curve` (``--hold`` steps).
Run: ``.venv/bin/python benchmarks/stability_figure.py OUT.png RUN_DIR... [--hold 50000]``.
Writes ``OUT.png`` and ``OUT.csv`` (every run's curves) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

import pandas as pd
from matplotlib.ticker import FuncFormatter

from offline_iq.benchmark.online_criteria import judge_curve
from offline_iq.data import load_minari
from offline_iq.plotting import save_figure, subplots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--hold", type=int, default=50_000)
    args = parser.parse_args()
    frames, lines = [], []
    lines.append("| run | policy | reached 90% at | worst after (window) | dips < 80% | held | "
                 "final | mean of last 5 |")  # fmt: skip
    lines.append("|---|---|---|---|---|---|---|---|")
    fig, axes = subplots(len(args.runs), figsize=(4.6 * len(args.runs), 3.6))
    for ax, run in zip(axes, args.runs, strict=True):
        state = json.loads((run / "state.json").read_text())
        expert = load_minari(state["dataset"], n_trajectories=1).metadata.ref_max_score
        if expert is None or expert <= 0:
            raise SystemExit(f"{state['dataset']} has no positive expert reference score")
        curves = pd.read_csv(run / "curve.csv")
        curves.insert(0, "run", run.name)
        frames.append(curves)
        for policy, part in curves.groupby("policy", sort=False):
            ax.plot(part.env_steps, part.mean_return, marker=".", label=str(policy))
            v = judge_curve(list(zip(part.env_steps, part.mean_return, strict=True)), expert,
                            hold=args.hold)  # fmt: skip
            worst = "-" if v.worst_after is None else f"{v.worst_after:.2f}"
            lines.append(
                f"| {run.name} | {policy} | {v.reached_at or 'never'} | {worst} "
                f"({v.window_evaluations}) | {v.dips} | {v.held} | {v.final:.2f} | "
                f"{part.mean_return.tail(5).mean() / expert:.2f} |"
            )
        for level, style in ((1.0, "--"), (0.9, ":"), (0.8, "-.")):
            ax.axhline(level * expert, color="grey", linestyle=style, linewidth=0.8)
        options = ", ".join(f"{k}={v}" for k, v in state["options"].items()) or "defaults"
        algo = {"iq": "IQ-Learn", "valuedice": "ValueDICE"}.get(state["algo"], state["algo"])
        title = f"{run.name}: {algo}, {options} (seed {state['seed']})"
        ax.set_title(textwrap.fill(title, 60), fontsize="small")  # long option lists wrap
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
        ax.set_xlabel("environment steps")
        ax.set_ylabel("return (5 episodes)")
        ax.legend(fontsize="x-small", loc="lower right")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(frames, ignore_index=True).to_csv(args.out.with_suffix(".csv"), index=False)
    save_figure(fig, args.out, f"{state['online']}: online, expert {expert:.0f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
