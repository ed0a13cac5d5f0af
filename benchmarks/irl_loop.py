"""Close the inverse-RL loop: train a fresh DQN on IQ-Learn's recovered CartPole reward alone.

1. Offline IQ-Learn on CartPole expert demonstrations.
2. A d3rlpy DQN learns online in ``RecoveredRewardWrapper(CartPole-v1)`` (never sees the true
   reward); its true return is then measured, against the expert's 500.

Run: ``.venv/bin/python benchmarks/irl_loop.py [n_demos] [dqn_steps] [seed]``.
"""

from __future__ import annotations

import sys
import time

import d3rlpy
import gymnasium as gym

import offline_iq
from offline_iq import load_minari
from offline_iq.evaluation import evaluate_policy
from offline_iq.rewards import RecoveredReward, RecoveredRewardWrapper
from offline_iq.runtime import quiet_d3rlpy


def main() -> None:
    quiet_d3rlpy()
    n_demos = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    dqn_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    d3rlpy.seed(seed)
    start = time.perf_counter()
    data = load_minari("cartpole/expert-v0", n_trajectories=n_demos, seed=seed)
    iq = offline_iq.DiscreteIQLearnConfig().create(device="cpu:0")
    iq.fit(data, n_steps=5000, n_steps_per_epoch=5000, show_progress=False,
           logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip
    reward = RecoveredReward.from_algo(iq)
    iq_return = evaluate_policy(iq, gym.make("CartPole-v1"), 10, seed=10_000).mean()
    env = RecoveredRewardWrapper(gym.make("CartPole-v1"), reward)
    env.reset(seed=seed)
    dqn = d3rlpy.algos.DoubleDQNConfig(
        learning_rate=1e-3, batch_size=64, target_update_interval=500, gamma=0.99
    ).create(device="cpu:0")
    explorer = d3rlpy.algos.LinearDecayEpsilonGreedy(1.0, 0.05, duration=dqn_steps // 3)
    dqn.fit_online(
        env,
        buffer=d3rlpy.dataset.create_fifo_replay_buffer(100_000, env=env),
        explorer=explorer,
        n_steps=dqn_steps,
        n_steps_per_epoch=dqn_steps,
        update_start_step=1000,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
        show_progress=False,
    )
    true_return = evaluate_policy(dqn, gym.make("CartPole-v1"), 10, seed=10_000)
    print(f"IQ-Learn policy from {n_demos} demos: true return {iq_return:.1f}")
    print(f"DQN trained {dqn_steps} steps on the recovered reward only: true return "
          f"{true_return.mean():.1f} ± {true_return.std():.1f} ({true_return.mean() / 500:.0%} of "
          f"the expert's 500); {time.perf_counter() - start:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
