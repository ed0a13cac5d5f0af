"""GridWorld reward recovery (the paper's Figure 4): heatmaps and correlation.

Offline IQ-Learn on the 30 shipped demonstrations, with the expert's discount and temperature,
then the recovered state reward (expectation over the learned policy's actions, and the per-state
mean over actions) against the true one. Run:
``.venv/bin/python benchmarks/gridworld_rewards.py [out.png] [value_objective] [steps]``.
"""

from __future__ import annotations

import sys

import d3rlpy
import numpy as np
import torch
from scipy.stats import pearsonr

import offline_iq
from offline_iq import load_minari
from offline_iq.envs.gridworld import EXPERT_GAMMA, EXPERT_TEMPERATURE
from offline_iq.rewards import RecoveredReward
from offline_iq.rewards.gridworld import plot_state_rewards, recovered_state_rewards
from offline_iq.runtime import quiet_d3rlpy


def main() -> None:
    quiet_d3rlpy()
    out = sys.argv[1] if len(sys.argv) > 1 else "runs/gridworld_rewards.png"
    objective = sys.argv[2] if len(sys.argv) > 2 else "v0"
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    data = load_minari("gridworld/expert-v0")
    env = data.metadata.make_env()
    true = env.unwrapped.state_rewards
    eye = torch.eye(env.unwrapped.observation_space.n)
    for seed in (0, 1, 2):
        d3rlpy.seed(seed)
        iq = offline_iq.DiscreteIQLearnConfig(
            gamma=EXPERT_GAMMA,
            temperature=EXPERT_TEMPERATURE,
            value_objective=objective,
            learning_rate=1e-3,
            observation_scaler=None,  # one-hot cells need no scaling
        ).create(device="cpu:0")
        iq.fit(data, n_steps=steps, n_steps_per_epoch=steps, show_progress=False,
               logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip
        reward = RecoveredReward.from_algo(iq)
        with torch.no_grad():
            policy = torch.softmax(iq.impl.q_values(eye) / EXPERT_TEMPERATURE, dim=1).numpy()
        by_policy = recovered_state_rewards(reward, env, policy)
        by_mean = recovered_state_rewards(reward, env)
        r_policy = pearsonr(by_policy.ravel(), true.ravel()).statistic
        r_mean = pearsonr(by_mean.ravel(), true.ravel()).statistic
        print(f"seed {seed}: Pearson (learned-policy expectation) {r_policy:.3f}, "
              f"(per-state mean) {r_mean:.3f}")  # fmt: skip
        if seed == 0:
            title = f"IQ-Learn ({objective}), 30 demos: Pearson {r_policy:.2f}"
            plot_state_rewards(true, by_policy, out, title=title)
    print(f"wrote {out}")
    np.set_printoptions(precision=2)


if __name__ == "__main__":
    main()
