"""GridWorld reward recovery (the paper's Figure 4): heatmaps and Pearson correlation.

Offline IQ-Learn with the documented recipe (:func:`offline_iq.rewards.gridworld.
reward_recovery_config`) on the 30 shipped demonstrations, for three seeds; the state reward is
the expectation over the learned policy's actions. Run:
``.venv/bin/python benchmarks/gridworld_rewards.py [dataset] [out.png] [steps]``
(default ``gridworld/expert-v0``, ``runs/gridworld_rewards.png``, the recipe's 8,000 steps).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from offline_iq import load_minari
from offline_iq.rewards.gridworld import RECIPE_STEPS, plot_state_rewards, recover_state_rewards
from offline_iq.runtime import quiet_d3rlpy


def main() -> None:
    quiet_d3rlpy()
    dataset = sys.argv[1] if len(sys.argv) > 1 else "gridworld/expert-v0"
    out = sys.argv[2] if len(sys.argv) > 2 else "runs/gridworld_rewards.png"
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else RECIPE_STEPS
    data = load_minari(dataset)
    scores = []
    for seed in (0, 1, 2):
        start = time.perf_counter()
        result = recover_state_rewards(data, seed=seed, n_steps=steps)
        scores.append(result.pearson)
        print(f"{dataset} seed {seed}: Pearson {result.pearson:.3f}, on the "
              f"{int(result.visited.sum())} visited cells {result.pearson_visited:.3f} "
              f"({steps} steps, {time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
        if seed == 0:
            title = (
                f"IQ-Learn (v0 recipe), {len(data.episodes)} demos: Pearson {result.pearson:.2f}"
            )
            plot_state_rewards(result.true, result.recovered, out, title=title)
    print(f"mean Pearson {np.mean(scores):.3f} (min {np.min(scores):.3f}); wrote {out}")


if __name__ == "__main__":
    main()
