"""What the learner logged beside each evaluation of ``benchmarks/online_stability.py`` runs: per
chunk of training (one ``fit_online`` call between two evaluations), the mean of chosen d3rlpy
metrics (entropy, temperature, implicit rewards on expert and policy rows, ...) next to the
evaluation of each scored policy, as a Markdown table per run.
Run: ``.venv/bin/python benchmarks/stability_diagnostics.py RUN_DIR... [--metrics NAME...]``.

Each resumed stretch of a run logs into ``logs/from_step_<N>/<metric>.csv`` (rows ``epoch, step,
value``, one per chunk); row ``i`` of the stretch starting at ``N`` is the chunk that ends at
``N + (i + 1) * every``, ``every`` being the spacing of the run's evaluations.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

DEFAULT_METRICS = ("entropy", "temp", "reward_expert", "reward_policy", "q_expert",
                   "rollout_return")  # fmt: skip


def read_metric(run: Path, metric: str, every: int) -> pd.Series:
    """One value per chunk, indexed by the environment step that ends the chunk; a later
    stretch overrides an earlier one where they overlap (a resumed chunk is retrained)."""
    values: dict[int, float] = {}
    stretches = sorted((int(p.name.split("_")[-1]), p) for p in (run / "logs").glob("from_step_*"))
    for start, stretch in stretches:
        path = stretch / f"{metric}.csv"
        if not path.is_file():
            continue
        rows = pd.read_csv(path, header=None, names=["epoch", "step", "value"])
        for i, value in enumerate(rows["value"]):
            values[start + (i + 1) * every] = float(value)
    return pd.Series(values, name=metric, dtype=float)


def diagnostics(run: Path, metrics: list[str]) -> pd.DataFrame:
    """The run's evaluations (one column per scored policy) beside the logged metrics."""
    curve = pd.read_csv(run / "curve.csv")
    evaluations = curve.pivot(index="env_steps", columns="policy", values="mean_return")
    steps = sorted(evaluations.index)
    if len(steps) < 2:
        raise SystemExit(f"{run}: fewer than two evaluations; nothing to align")
    every = int(steps[1] - steps[0])
    columns = [read_metric(run, m, every) for m in metrics]
    present = [c for c in columns if not c.empty]
    if not present:
        raise SystemExit(f"{run}: none of {metrics} was logged under {run / 'logs'}")
    return pd.concat([*present, evaluations.round(0)], axis=1).sort_index()


def markdown(table: pd.DataFrame) -> str:
    """``table`` as a Markdown table, its index as the first column ("env steps")."""
    header = ["env steps", *map(str, table.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for step, row in table.iterrows():
        cells = ["" if pd.isna(v) else f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}" for v in row]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS))
    args = parser.parse_args()
    for run in args.runs:
        print(f"\n### {run.name}\n")
        print(markdown(diagnostics(run, args.metrics)))


if __name__ == "__main__":
    main()
