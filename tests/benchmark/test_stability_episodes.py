"""``benchmarks/stability_episodes.py`` replays an online run's final policies on the curve's own
evaluation episodes and sets them beside the demonstration the run imitated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def _call(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(BENCHMARKS / script), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env)


def _run(script: str, *args: str) -> str:
    done = _call(script, *args)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_final_policies_replay_the_curves_last_evaluation(tmp_path: Path) -> None:
    run = tmp_path / "pendulum-s0"
    _run("online_stability.py", "Pendulum-v1", "pendulum/expert-v0", "--seed", "0", "--pool",
         "evaluation", "--steps", "300", "--eval-every", "300", "--episodes", "2", "--track",
         "0.01", "--keep-policies", "--out", str(run))  # fmt: skip
    table = _run("stability_episodes.py", str(run), "--episodes", "2").splitlines()
    rows = {line.split(" | ")[1]: line.strip("| ").split(" | ") for line in table[2:]}
    assert list(rows) == ["demonstration", "last", "ema_0.01"]
    assert rows["demonstration"][0] == "pendulum-s0 (300 steps)"
    assert rows["demonstration"][3:] == ["200", "time limit", "0"]  # Pendulum never terminates
    curve = pd.read_csv(run / "curve.csv")
    for policy in ("last", "ema_0.01"):
        assert rows[policy][3:5] == ["200, 200", "0 of 2"]
        assert float(rows[policy][5]) > 0  # an untrained actor is not the expert
        logged = json.loads(curve[curve.policy == policy].returns.iloc[-1])
        replayed = [float(r) for r in rows[policy][2].split(", ")]
        assert all(abs(a - b) <= 0.6 for a, b in zip(logged, replayed, strict=True))
    # the policies saved at the last evaluation are the final ones: the same table
    at_last = _run("stability_episodes.py", str(run), "--episodes", "2", "--at", "300")
    assert at_last.splitlines()[2:] == table[2:]
    # the demonstration fit of the saved policies is the final table's demo action error
    fit = _run("stability_demo_fit.py", str(run), "--expert-rollouts", "1").splitlines()
    row = next(line for line in fit if line.startswith("| 300 |"))
    header = next(line for line in fit if line.startswith("| env steps |"))
    names = [column.split(":")[0] for column in header.strip("| ").split(" | ")[1:]]
    cells = dict(zip(names, row.strip("| ").split(" | ")[1:], strict=True))
    for policy in ("last", "ema_0.01"):
        mean_return, error, own_error = cells[policy].split(", ")
        assert abs(float(error) - float(rows[policy][5])) < 1e-3
        assert float(own_error) > 0  # the untrained actor is not the built-in expert
        assert abs(float(mean_return) - curve[curve.policy == policy].mean_return.iloc[-1]) < 0.6
    missing = _call("stability_episodes.py", str(run), "--at", "150")
    assert missing.returncode != 0 and "at 150 steps; it saved them at 300-300" in missing.stderr
    # the run records the pool its demonstration came from; another one is refused, not used
    assert json.loads((run / "demonstration.json").read_text()) == {"pool": "evaluation"}
    other_pool = _call("stability_episodes.py", str(run), "--pool", "tuning")
    assert (
        other_pool.returncode != 0 and "from pool 'evaluation', not 'tuning'" in other_pool.stderr
    )
    assert json.loads((run / "state.json").read_text())["replay_capacity"] == 1_000_000
    # resuming with another replay capacity is refused, not mixed
    other = _call("online_stability.py", "Pendulum-v1", "pendulum/expert-v0", "--seed", "0",
                  "--pool", "evaluation", "--steps", "600", "--replay-capacity", "100", "--out",
                  str(run))  # fmt: skip
    assert other.returncode != 0 and "other options, seed or replay capacity" in other.stderr


def test_own_state_error_is_zero_for_the_expert_itself() -> None:
    import gymnasium as gym
    import numpy as np

    sys.path.insert(0, str(BENCHMARKS))
    try:
        from stability_demo_fit import own_state_error
    finally:
        sys.path.remove(str(BENCHMARKS))
    from offline_iq.experts.controllers import make_expert

    class Acting:
        def __init__(self, act: object) -> None:
            self.act = act

        def predict(self, x: np.ndarray) -> np.ndarray:
            return np.asarray([self.act(x[0])], dtype=np.float32)  # type: ignore[operator]

    env = gym.make("Pendulum-v1")
    expert = make_expert("Pendulum-v1")
    assert own_state_error(Acting(expert), expert, env, 1) < 1e-10
    # a policy that always pushes 0: the mean of ||pi_E(s)||^2 over the states it visits
    zero = own_state_error(Acting(lambda obs: np.zeros(1)), expert, env, 1)
    obs, _ = env.reset(seed=10_000)
    pushes = []
    for _ in range(200):
        pushes.append(float(np.sum(np.asarray(expert(obs)) ** 2)))
        obs, *_ = env.step(np.zeros(1, dtype=np.float32))
    assert zero > 0 and abs(zero - np.mean(pushes)) < 1e-6
