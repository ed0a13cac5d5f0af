"""The SAC experts' own learning curves on the true reward (issue 19's reference for sample
efficiency): reads each ``offline-iq train-expert`` folder's ``state.json`` (one evaluation of
5 greedy episodes per 10,000 environment steps) and writes one CSV and one figure. Run:

``.venv/bin/python benchmarks/expert_curves.py results/online/sac-experts.png experts/Hopper-v5 experts/HalfCheetah-v5``
"""  # noqa: E501

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from matplotlib.ticker import FuncFormatter

from offline_iq.plotting import save_figure, subplots


def main() -> None:
    out, folders = Path(sys.argv[1]), [Path(a) for a in sys.argv[2:]]
    frames = []
    for folder in folders:
        state = json.loads((folder / "state.json").read_text())
        curve = pd.DataFrame(state["evaluations"], columns=["env_steps", "mean_return"])
        curve.insert(0, "env_id", state["env_id"])
        curve.insert(1, "algo", state["algo"])
        frames.append(curve)
    table = pd.concat(frames, ignore_index=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out.with_suffix(".csv"), index=False)
    fig, axes = subplots(len(frames), figsize=(4.2 * len(frames), 3.4))
    for ax, curve in zip(axes, frames, strict=True):
        ax.plot(curve.env_steps, curve.mean_return, marker=".")
        ax.set_title(f"{curve.env_id.iloc[0]} ({curve.algo.iloc[0].upper()})", fontsize="medium")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
        ax.set_xlabel("environment steps")
        ax.set_ylabel("return (5 episodes)")
    save_figure(fig, out, "SAC experts on the true reward")
    for curve in frames:
        best = curve.loc[curve.mean_return.idxmax()]
        print(f"{curve.env_id.iloc[0]}: {len(curve)} evaluations to {curve.env_steps.iloc[-1]} "
              f"steps; last {curve.mean_return.iloc[-1]:.0f}, best {best.mean_return:.0f} at "
              f"{int(best.env_steps)}")  # fmt: skip


if __name__ == "__main__":
    main()
