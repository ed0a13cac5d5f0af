"""Where the final policies of ``benchmarks/online_stability.py`` runs end their episodes, beside
the one demonstration they imitated: per run and scored policy (the last iterate and each tracked
average), the return, length and whether it fell (terminated before the time limit) of the same
5 greedy evaluation episodes as the curve's last row (reset seeds 10,000-10,004), as a Markdown
table. A policy that falls near where its demonstration fell imitates the fall.
Run: ``.venv/bin/python benchmarks/stability_episodes.py RUN_DIR... [--pool evaluation]``.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from online_stability import GreedyActor, _averages_path

from offline_iq.benchmark.cells import pool_positions
from offline_iq.data import load_minari
from offline_iq.runtime import quiet_d3rlpy, set_torch_threads
from offline_iq.training import load_checkpoint, online_envs


def rollout(policy: Any, env: gym.Env[Any, Any], seed: int) -> tuple[float, int, bool]:
    """Return, length and termination of one greedy episode from reset ``seed``."""
    obs, _ = env.reset(seed=seed)
    total, steps = 0.0, 0
    while True:
        action = policy.predict(np.asarray(obs, dtype=np.float32)[None])[0]
        obs, reward, terminated, truncated, _ = env.step(action)
        total, steps = total + float(reward), steps + 1
        if terminated or truncated:
            return total, steps, bool(terminated)


def run_rows(run: Path, pool: str, episodes: int) -> list[str]:
    """Table rows for one run folder: its demonstration, then each scored policy."""
    state, model = load_checkpoint(run, "cpu:0")
    if state is None or model is None or state.online is None:
        raise SystemExit(f"{run} holds no online run checkpoint")
    n_episodes = load_minari(state.dataset, n_trajectories=1).metadata.source_episodes
    positions = None if pool == "all" else pool_positions(pool, n_episodes)
    data = load_minari(state.dataset, n_trajectories=state.demos, seed=state.seed,
                       episodes=positions)  # fmt: skip
    demo = data.episodes[0]
    name = f"{run.name} ({state.steps_done:,} steps)"
    demo_fell = bool(demo.terminated)
    rows = [f"| {name} | demonstration | {float(demo.rewards.sum()):.0f} | "
            f"{len(demo.actions)} | {'fell' if demo_fell else 'time limit'} |"]  # fmt: skip
    actor = model.impl.policy
    policies: dict[str, Any] = {"last": GreedyActor(model, actor)}
    averages_file = _averages_path(run, state.steps_done)
    if averages_file.exists():
        for beta, weights in torch.load(averages_file).items():
            average = copy.deepcopy(actor)
            average.load_state_dict(weights)
            policies[f"ema_{float(beta):g}"] = GreedyActor(model, average)
    train_env, env = online_envs(state.online, data.metadata)  # with the dataset's keywords
    train_env.close()  # only the evaluation environment rolls out
    for policy_name, policy in policies.items():
        results = [rollout(policy, env, 10_000 + k) for k in range(episodes)]
        returns = ", ".join(f"{r:.0f}" for r, _, _ in results)
        lengths = ", ".join(str(n) for _, n, _ in results)
        falls = sum(fell for _, _, fell in results)
        rows.append(f"| {name} | {policy_name} | {returns} | {lengths} | {falls} of {episodes} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--pool", default="evaluation", choices=["tuning", "evaluation", "all"])
    parser.add_argument("--episodes", type=int, default=5)
    args = parser.parse_args()
    set_torch_threads()
    quiet_d3rlpy()
    print("| run | policy | returns | lengths | fell |")
    print("|---|---|---|---|---|")
    for run in args.runs:
        for row in run_rows(run, args.pool, args.episodes):
            print(row, flush=True)


if __name__ == "__main__":
    main()
