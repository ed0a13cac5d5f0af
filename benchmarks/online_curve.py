"""Plot an ``offline-iq fit --online`` run: return against environment steps (issue 6).

Reads the run's ``state.json`` (one evaluation per ``--steps-per-epoch``), draws the curve with
the dataset's expert (``ref_max_score``) and 90%-of-expert levels, and writes the points as CSV
beside the figure. Run:
``.venv/bin/python benchmarks/online_curve.py RUN_DIR OUT.png`` e.g.
``runs/online-hopper-1demo results/online/hopper-v5-1demo.png``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from offline_iq import load_minari
from offline_iq.plotting import save_figure, subplots


def main() -> None:
    run, out = Path(sys.argv[1]), Path(sys.argv[2])
    state = json.loads((run / "state.json").read_text())
    curve = pd.DataFrame(state["evaluations"], columns=["env_steps", "mean_return"])
    meta = load_minari(state["dataset"], n_trajectories=1).metadata
    expert = meta.ref_max_score
    out.parent.mkdir(parents=True, exist_ok=True)
    curve.to_csv(out.with_suffix(".csv"), index=False)
    fig, axes = subplots(1, figsize=(6, 3.8))
    ax = axes[0]
    ax.plot(curve["env_steps"], curve["mean_return"], marker="o", label="IQ-Learn online")
    if expert is not None:
        ax.axhline(expert, color="k", linestyle="--", linewidth=1, label="expert")
        ax.axhline(0.9 * expert, color="grey", linestyle=":", linewidth=1, label="90% of expert")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return (5 episodes)")
    ax.legend(loc="lower right", fontsize="small")
    demos = state.get("demos")
    title = f"{state['online']}: online IQ-Learn from {demos} demonstration(s)"
    save_figure(fig, out, title)
    best = curve.loc[curve["mean_return"].idxmax()]
    print(f"{len(curve)} evaluations; best {best.mean_return:.1f} at {int(best.env_steps)} steps")
    if expert is not None:
        hit = curve[curve["mean_return"] >= 0.9 * expert]
        first = "never" if hit.empty else f"first at {int(hit.env_steps.iloc[0])} env steps"
        print(f"expert {expert:.1f}; 90% of expert ({0.9 * expert:.1f}): {first}")


if __name__ == "__main__":
    main()
