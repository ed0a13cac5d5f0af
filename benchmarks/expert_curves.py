"""The SAC experts' own learning curves on the true reward (issue 19's reference for sample
efficiency): one panel per run, from each ``offline-iq train-expert`` folder's ``state.json`` (one
evaluation of 5 greedy episodes per 10,000 environment steps) or from a CSV this script wrote
(``CSV`` for every run in it, ``CSV::RUN`` for one), so runs whose folders are gone stay drawn.
Writes one CSV (``run, env_id, algo, env_kwargs, env_steps, mean_return``) and one figure. Run:

``.venv/bin/python benchmarks/expert_curves.py results/online/sac-experts.png experts/Hopper-v5 results/online/sac-experts.csv::Ant-v5``

A run is named after its folder; a CSV written before the ``run`` column existed names each run
after its environment. Restarts from the best checkpoint (``state.json``'s ``restarts``) are
marked on the curve.
"""  # noqa: E501

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from matplotlib.ticker import FuncFormatter
from sources import read_sources

from offline_iq.plotting import save_figure, subplots

COLUMNS = ["run", "env_id", "algo", "env_kwargs", "env_steps", "mean_return"]


def curve_from_folder(folder: Path) -> tuple[pd.DataFrame, list[int]]:
    """A run's evaluations and the steps at which it restarted from its best checkpoint."""
    state = json.loads((folder / "state.json").read_text())
    curve = pd.DataFrame(state["evaluations"], columns=["env_steps", "mean_return"])
    curve.insert(0, "run", folder.name)
    curve.insert(1, "env_id", state["env_id"])
    curve.insert(2, "algo", state["algo"])
    curve.insert(3, "env_kwargs", json.dumps(state.get("env_kwargs", {}), sort_keys=True))
    return curve, [int(r["at_step"]) for r in state.get("restarts", [])]


def curves_from_csv(path: Path, name: str | None) -> list[tuple[pd.DataFrame, list[int]]]:
    """The runs of a CSV this script wrote (``name``: that run only)."""
    table = pd.read_csv(path)
    if "run" not in table.columns:  # written before runs were named
        table.insert(0, "run", table.env_id)
    if "env_kwargs" not in table.columns:
        table.insert(3, "env_kwargs", "{}")
    runs = list(dict.fromkeys(table.run))
    if name is not None and name not in runs:
        raise SystemExit(f"{path} holds no run {name!r}; it holds {runs}")
    return [(table[table.run == r][COLUMNS].reset_index(drop=True), []) for r in runs
            if name is None or r == name]  # fmt: skip


def read(sources: list[str]) -> list[tuple[pd.DataFrame, list[int]]]:
    return read_sources(sources, curve_from_folder, curves_from_csv, "train-expert folder")


def main() -> None:
    out, curves = Path(sys.argv[1]), read(sys.argv[2:])
    frames = [curve for curve, _ in curves]
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(frames, ignore_index=True).to_csv(out.with_suffix(".csv"), index=False)
    fig, axes = subplots(len(frames), figsize=(4.2 * len(frames), 3.4))
    for ax, (curve, restarts) in zip(axes, curves, strict=True):
        ax.plot(curve.env_steps, curve.mean_return, marker=".")
        for step in restarts:
            ax.axvline(step, color="grey", linestyle=":", linewidth=0.8)
        kwargs = ", ".join(f"{k}={v}" for k, v in json.loads(curve.env_kwargs.iloc[0]).items())
        title = f"{curve.run.iloc[0]}: {curve.env_id.iloc[0]} ({curve.algo.iloc[0].upper()})"
        ax.set_title(title + (f"\n{kwargs}" if kwargs else ""), fontsize="medium")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
        ax.set_xlabel("environment steps")
        ax.set_ylabel("return (5 episodes)")
    save_figure(fig, out, "SAC experts on the true reward (dotted: restart from the best weights)")
    for curve, _ in curves:
        best = curve.loc[curve.mean_return.idxmax()]
        print(f"{curve.run.iloc[0]} ({curve.env_id.iloc[0]}): {len(curve)} evaluations to "
              f"{curve.env_steps.iloc[-1]} steps; last {curve.mean_return.iloc[-1]:.0f}, best "
              f"{best.mean_return:.0f} at {int(best.env_steps)}")  # fmt: skip


if __name__ == "__main__":
    main()
