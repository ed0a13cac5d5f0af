"""Learning curves behind the step budgets of the learning tests (tests/algos/test_learning.py).

Each test asserts one return after a fixed number of steps; this script runs the same learner,
data and seed for longer and evaluates it every ``EVERY`` steps (10 episodes, reset seeds
10_000..10_009, as the tests), so a budget can be chosen with a margin and re-checked after a
change. An evaluation does not touch the training's random state, so the return printed at step
``k`` is what a test with ``k`` steps gets. Run:
``.venv/bin/python benchmarks/learning_curves.py CASE [SEEDS] [STEPS] [EVERY]``
with CASE one of ``cartpole``, ``acrobot``, ``mountaincar``, ``pendulum`` (offline, default
configurations) or ``online`` (CartPole, ``DiscreteIQLearnConfig.for_online()``, one
demonstration); SEEDS is a comma list (default ``0,1,2``), STEPS the run length (default: twice
the test's budget) and EVERY the evaluation interval (default 1000).

Measured on 2 cores (HEAD 9644c57, returns at 1k / 2k / 3k / 4k / 5k steps):

* cartpole (test: >= 475 at 4,000): seed 0 486.0 / 500 / 500 / 500 / 500, seed 1 441.3 / 485.1 /
  498.5 / 500 / 500, seed 2 410.4 / 498.2 / 500 / 500 / 500, seed 3 500 at every point.
* acrobot (test: >= -100 at 2,000): seed 0 -69.8 / -70.0 / -69.2 / -69.2 / -69.2, seed 1
  -73.9 / -75.7 / -73.5 / -74.6 / -74.6, seed 2 -85.4 / -81.2 / -83.0 / -82.8 / -82.7.
* mountaincar (test: >= 85 at 1,000): seeds 0 and 1 97.6 at 1k and 2k, 97.6-98.0 up to 5k.
* online (test: >= 475, updates from env step 500; seeds 0 and 2 at 10,000 env steps, seed 1 at
  4,000), at 1k..10k: seed 0 429.0 / 352.4 / 448.9 / 427.8 / 453.9 / 491.5 / 500 / 465.0 / 481.2 /
  500, seed 1 395.8 / 441.5 / 500 at 3k and at every point after, seed 2 177.2 / 273.4 / 331.4 /
  448.6 / 446.6 / 446.1 / 462.7 / 478.2 / 495.0 / 498.5.
* pendulum (test: >= -200, seed 0 at 2,000 steps, seed 1 at 6,000; the test's comment): seed 0
  -132.2 / -133.0 / -132.8 at 2k / 4k / 6k; seed 1 every 500 steps: -1517.5 / -1250.1 / -1373.6 /
  -1384.2 / -1262.7 / -1243.6 / -1036.2 / -561.2 / -158.7 / -491.1 / -424.1 / -156.8, so 6,000.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import d3rlpy
import gymnasium as gym

import offline_iq
from offline_iq import load_minari
from offline_iq.evaluation import evaluate_policy
from offline_iq.runtime import quiet_d3rlpy

# case -> (config factory, dataset, trajectories, the test's step budget)
OFFLINE: dict[str, tuple[Callable[[], Any], str, int, int]] = {
    "cartpole": (offline_iq.DiscreteIQLearnConfig, "cartpole/expert-v0", 1, 4000),
    "acrobot": (offline_iq.DiscreteIQLearnConfig, "acrobot/expert-v0", 1, 2000),
    "mountaincar": (offline_iq.IQLearnConfig, "mountaincarcontinuous/expert-v0", 5, 1000),
    "pendulum": (offline_iq.IQLearnConfig, "pendulum/expert-v0", 5, 6000),
}
ONLINE_BUDGET = 10_000


def curve(case: str, seed: int, steps: int, every: int) -> list[tuple[int, float]]:
    """``(step, mean return over 10 episodes)`` every ``every`` steps of one run."""
    quiet_d3rlpy()
    d3rlpy.seed(seed)
    points: list[tuple[int, float]] = []
    eval_env: gym.Env[Any, Any]

    def callback(algo: Any, epoch: int, step: int) -> None:
        if step % every == 0:
            ret = float(evaluate_policy(algo, eval_env, n_episodes=10, seed=10_000).mean())
            points.append((step, ret))
            print(f"{case} seed {seed} step {step}: {ret:.1f}", flush=True)

    noop = d3rlpy.logging.NoopAdapterFactory()
    if case == "online":
        eval_env = gym.make("CartPole-v1")
        model = offline_iq.DiscreteIQLearnConfig.for_online().create(device="cpu:0")
        model.attach_demonstrations(load_minari("cartpole/expert-v0", n_trajectories=1, seed=seed))
        env = gym.make("CartPole-v1")
        env.reset(seed=seed)
        model.fit_online(env, buffer=d3rlpy.dataset.create_fifo_replay_buffer(100_000, env=env),
                         n_steps=steps, n_steps_per_epoch=1000, update_start_step=500,
                         logger_adapter=noop, show_progress=False, callback=callback)  # fmt: skip
        return points
    make, dataset, n_traj, _ = OFFLINE[case]
    data = load_minari(dataset, n_trajectories=n_traj, seed=seed)
    eval_env = data.metadata.make_env()
    algo = make().create(device="cpu:0")
    algo.fit(data, n_steps=steps, n_steps_per_epoch=steps, show_progress=False,
             logger_adapter=noop, callback=callback)  # fmt: skip
    return points


def main() -> None:
    case = sys.argv[1]
    if case != "online" and case not in OFFLINE:
        raise SystemExit(f"CASE must be one of online, {', '.join(OFFLINE)}; got {case!r}")
    seeds = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "0,1,2").split(",")]
    budget = ONLINE_BUDGET if case == "online" else OFFLINE[case][3]
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 2 * budget
    every = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    for seed in seeds:
        start = time.time()
        points = curve(case, seed, steps, every)
        at_budget = dict(points).get(budget)
        print(f"{case} seed {seed}: at the test's {budget} steps {at_budget}, "
              f"{time.time() - start:.0f} s", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
