"""Figure and table of ``benchmarks/online_stability.py`` runs: one panel per run, one line per
policy scored (last iterate, tracked averages), with the expert, 90% and 80% levels, and each
curve judged by :func:`~offline_iq.benchmark.online_criteria.judge_curve` (``--hold`` steps).

Run: ``.venv/bin/python benchmarks/stability_figure.py OUT.png SOURCE... [--hold 50000]``, where
a SOURCE is a run folder (its ``state.json`` and ``curve.csv``), a CSV this script wrote (every
run in it, so a committed figure can be redrawn from a clone), or ``CSV::RUN`` (one run of it).
Writes ``OUT.png`` and ``OUT.csv`` (every run's curves, each row with its run's dataset, algo,
seed, environment, options and replay capacity) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import functools
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.ticker import FuncFormatter
from sources import read_sources as sources_of

from offline_iq.benchmark.online_criteria import CurveVerdict, judge_curve
from offline_iq.data import load_minari
from offline_iq.data.replay_checkpoint import REPLAY_CAPACITY
from offline_iq.plotting import save_figure, subplots

#: what a run's panel needs besides its curves; every row of ``OUT.csv`` carries them
RUN_FIELDS = ("dataset", "algo", "seed", "online", "options", "replay_capacity")
#: of those, what runs and CSVs older than it lack (read as :class:`Run`'s default)
OPTIONAL_FIELDS = ("replay_capacity",)
ALGO_NAMES = {"iq": "IQ-Learn", "valuedice": "ValueDICE"}


@dataclass(frozen=True)
class Run:
    """One training run's curves (``env_steps, policy, mean_return, ...``) and settings."""

    name: str
    curves: pd.DataFrame
    dataset: str
    algo: str
    seed: int
    online: str
    options: dict[str, Any]
    replay_capacity: int = REPLAY_CAPACITY  # policy transitions kept (runs before it: all)

    def settings(self) -> str:
        """The options, and the replay capacity where it is not the default, or "defaults"."""
        parts = [f"{k}={v}" for k, v in self.options.items()]
        if self.replay_capacity != REPLAY_CAPACITY:
            parts.append(f"replay_capacity={self.replay_capacity}")
        return ", ".join(parts) or "defaults"

    def table(self) -> pd.DataFrame:
        """The curves with ``run`` first and the settings as columns (options as JSON)."""
        table = self.curves.drop(columns=["run", *RUN_FIELDS], errors="ignore")
        table.insert(0, "run", self.name)
        settings = (self.dataset, self.algo, self.seed, self.online, json.dumps(self.options),
                    self.replay_capacity)  # fmt: skip
        for column, value in zip(RUN_FIELDS, settings, strict=True):
            table[column] = value
        return table


def run_from_folder(folder: Path) -> Run:
    """A run folder of ``online_stability.py``."""
    state = json.loads((folder / "state.json").read_text())
    curves = pd.read_csv(folder / "curve.csv")
    fields = {f: state[f] for f in RUN_FIELDS if f in state or f not in OPTIONAL_FIELDS}
    return Run(name=folder.name, curves=curves, **fields)


def runs_from_csv(path: Path, names: list[str] | None) -> list[Run]:
    """The runs of a CSV written by this script (``names``: those runs only, in that order)."""
    table = pd.read_csv(path)
    required = [c for c in ("run", *RUN_FIELDS) if c not in OPTIONAL_FIELDS]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise SystemExit(f"{path} lacks the columns {missing}: not a stability_figure.py CSV")
    available = list(dict.fromkeys(table.run))
    unknown = [n for n in names or [] if n not in available]
    if unknown:
        raise SystemExit(f"{path} holds no run {unknown}; it holds {available}")
    runs = []
    for name in names or available:
        part = table[table.run == name].reset_index(drop=True)
        first = part.iloc[0]
        capacity = int(first.get("replay_capacity", REPLAY_CAPACITY))  # older CSVs: the default
        runs.append(Run(name=name, curves=part, dataset=str(first.dataset), algo=str(first.algo),
                        seed=int(first.seed), online=str(first.online),
                        options=json.loads(first.options),
                        replay_capacity=capacity))  # fmt: skip
    return runs


def read_sources(sources: list[str]) -> list[Run]:
    """Runs from folders, whole CSVs and ``CSV::RUN`` picks, in the order given."""
    return sources_of(
        sources,
        run_from_folder,
        lambda path, name: runs_from_csv(path, None if name is None else [name]),
        "run folder",
    )


@functools.cache  # panels of one dataset load it once
def expert_score(dataset: str) -> float:
    expert = load_minari(dataset, n_trajectories=1).metadata.ref_max_score
    if expert is None or expert <= 0:
        raise SystemExit(f"{dataset} has no positive expert reference score")
    return float(expert)


def judge_policy(run: Run, policy: str, hold: int) -> tuple[CurveVerdict, float]:
    """``policy``'s verdict on ``run`` and the mean of its last five evaluations, both as
    fractions of the dataset's expert score."""
    part = run.curves[run.curves.policy == policy]
    if part.empty:
        policies = sorted(set(run.curves.policy))
        raise SystemExit(f"{run.name} has no policy {policy!r}; it has {policies}")
    expert = expert_score(run.dataset)
    curve = list(zip(part.env_steps, part.mean_return, strict=True))
    last_five = float(part.mean_return.tail(5).mean()) / expert
    return judge_curve(curve, expert, hold=hold), last_five


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("sources", nargs="+", help="run folder, CSV, or CSV::RUN")
    parser.add_argument("--hold", type=int, default=50_000)
    args = parser.parse_args()
    runs = read_sources(args.sources)
    frames, lines = [], []
    lines.append("| run | policy | reached 90% at | worst after (window) | dips < 80% | held | "
                 "final | mean of last 5 |")  # fmt: skip
    lines.append("|---|---|---|---|---|---|---|---|")
    fig, axes = subplots(len(runs), figsize=(4.6 * len(runs), 3.6))
    for ax, run in zip(axes, runs, strict=True):
        expert = expert_score(run.dataset)
        frames.append(run.table())
        for policy, part in run.curves.groupby("policy", sort=False):
            ax.plot(part.env_steps, part.mean_return, marker=".", label=str(policy))
            v, last_five = judge_policy(run, str(policy), args.hold)
            worst = "-" if v.worst_after is None else f"{v.worst_after:.2f}"
            lines.append(
                f"| {run.name} | {policy} | {v.reached_at or 'never'} | {worst} "
                f"({v.window_evaluations}) | {v.dips} | {v.held} | {v.final:.2f} | "
                f"{last_five:.2f} |"
            )
        for level, style in ((1.0, "--"), (0.9, ":"), (0.8, "-.")):
            ax.axhline(level * expert, color="grey", linestyle=style, linewidth=0.8)
        options = run.settings()
        algo = ALGO_NAMES.get(run.algo, run.algo)
        title = f"{run.name}: {algo}, {options} (seed {run.seed}, expert {expert:.0f})"
        ax.set_title(textwrap.fill(title, 60), fontsize="small")  # long option lists wrap
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
        ax.set_xlabel("environment steps")
        ax.set_ylabel("return (5 episodes)")
        ax.legend(fontsize="x-small", loc="lower right")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(frames, ignore_index=True).to_csv(args.out.with_suffix(".csv"), index=False)
    environments = ", ".join(dict.fromkeys(run.online for run in runs))
    levels = "dashed: expert; dotted: 90%; dash-dot: 80%"
    save_figure(fig, args.out, f"{environments}: online ({levels})")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
