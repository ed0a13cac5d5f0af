"""How closely every policy an online run scored follows its demonstration, evaluation by
evaluation, beside the return it scored: does a dip come with the actor leaving the expert's
actions on the expert's own states, or with a policy that still matches them there and falls
elsewhere?

For each evaluation saved by ``benchmarks/online_stability.py --keep-policies``
(``policies/<steps>.pt``) and each scored policy, the mean over the demonstration's steps of
:math:`\\|\\pi(s_t) - a_t\\|^2` (greedy action, environment units) and the curve's return;
then, per policy, the Pearson and Spearman correlations of the two over the run's evaluations,
and over those from the policy's first evaluation at 90% of the dataset's expert return on (the
window the issue's hold test watches; only where that return is positive). No rollout: each
policy is queried on the demonstration's states only, so a whole run takes seconds.

``--expert-rollouts K`` adds the expert's view of the policy's *own* states (the imitation gap
DAgger measures): each policy plays K greedy episodes from the curve's reset seeds (10,000 + i)
and ``own_state_error`` is the mean over the states it visits of
:math:`\\|\\pi(s) - \\pi_E(s)\\|^2`, with :math:`\\pi_E` the expert that recorded the
dataset (``--expert-model``, a saved d3rlpy model such as ``experts/Hopper-v5/best.d3``; without
it, the environment's built-in controller). Diagnosis only: no learner ever sees the expert.
Run: ``.venv/bin/python benchmarks/stability_demo_fit.py RUN_DIR... [--pool evaluation]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from online_stability import GreedyActor
from scipy import stats
from stability_episodes import (
    _saved_policies,
    add_run_arguments,
    demo_action_error,
    load_run,
    saved_steps,
)

from offline_iq.experts.controllers import make_expert
from offline_iq.experts.policy_base import ExpertPolicy
from offline_iq.experts.trained import TrainedExpert
from offline_iq.runtime import quiet_d3rlpy, set_torch_threads
from offline_iq.training import online_envs


def own_state_error(policy: Any, expert: ExpertPolicy, env: Any, episodes: int) -> float:
    """Mean over the states ``policy`` visits in ``episodes`` greedy episodes (reset seeds
    10,000 + i) of :math:`\\|\\pi(s) - \\pi_E(s)\\|^2`."""
    errors = []
    for k in range(episodes):
        obs, _ = env.reset(seed=10_000 + k)
        expert.reset()
        while True:
            action = policy.predict(np.asarray(obs, dtype=np.float32)[None])[0]
            expert_action = np.asarray(expert(obs), dtype=np.float64)
            errors.append(
                float(np.sum((np.asarray(action, dtype=np.float64) - expert_action) ** 2))
            )
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                break
    return float(np.mean(errors))


def demo_fit(
    run: Path, pool: str | None, expert_rollouts: int = 0, expert_model: Path | None = None
) -> pd.DataFrame:
    """One row per saved evaluation and policy: ``env_steps``, ``policy``, ``mean_return`` (the
    curve's), ``demo_action_error`` and, with ``expert_rollouts``, ``own_state_error``;
    ``attrs["expert"]`` is the dataset's expert return."""
    state, model, data = load_run(run, pool)
    demo = data.episodes[0]
    curve = pd.read_csv(run / "curve.csv").set_index(["env_steps", "policy"])
    saved = [
        steps for steps in saved_steps(run) if steps <= state.steps_done
    ]  # past it: a redone chunk
    if not saved:
        raise SystemExit(f"{run}/policies is empty: rerun with online_stability.py --keep-policies")
    expert: ExpertPolicy | None = None
    env = None
    if expert_rollouts > 0:
        train_env, env = online_envs(state.online, data.metadata)  # the dataset's keywords
        train_env.close()
        if expert_model is None:
            try:
                expert = make_expert(state.online)
            except ValueError as error:
                raise SystemExit(f"{error}: pass --expert-model, the dataset's expert (e.g. "
                                 "experts/Hopper-v5/best.d3)") from error  # fmt: skip
        else:
            trained = TrainedExpert(expert_model)
            trained.check_env(env)
            expert = trained
    rows = []
    for steps in saved:
        for name, actor in _saved_policies(run, steps, model.impl.policy).items():
            policy = GreedyActor(model, actor)
            row = {
                "env_steps": steps,
                "policy": name,
                "mean_return": float(curve.loc[(steps, name), "mean_return"]),
                "demo_action_error": demo_action_error(policy, demo),
            }
            if expert is not None:
                row["own_state_error"] = own_state_error(policy, expert, env, expert_rollouts)
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs["expert"] = data.metadata.ref_max_score
    return frame


def _correlations(rows: pd.DataFrame, column: str) -> str:
    """Pearson and Spearman correlations of ``column`` and the return over ``rows``."""
    if len(rows) < 3 or rows[column].nunique() < 2 or rows.mean_return.nunique() < 2:
        return f"{len(rows)} evaluations, too few to correlate"
    pearson = stats.pearsonr(rows[column], rows.mean_return).statistic
    spearman = stats.spearmanr(rows[column], rows.mean_return).statistic
    return (f"{len(rows)} evaluations, corr({column}, return) Pearson {pearson:.2f}, "
            f"Spearman {spearman:.2f}")  # fmt: skip


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser)
    parser.add_argument(
        "--expert-rollouts",
        type=_non_negative,
        default=0,
        help="episodes per policy scored against the expert on its own states",
    )
    parser.add_argument(
        "--expert-model",
        type=Path,
        help="the dataset's expert, a saved d3rlpy model (default: built-in)",
    )
    args = parser.parse_args()
    set_torch_threads()
    quiet_d3rlpy()
    for run in args.runs:
        frame = demo_fit(run, args.pool, args.expert_rollouts, args.expert_model)
        print(f"\n### {run.name}\n")
        expert = frame.attrs["expert"]
        errors = [c for c in ("demo_action_error", "own_state_error") if c in frame]
        wide = frame.pivot(index="env_steps", columns="policy")
        names = list(wide["mean_return"].columns)
        print("| env steps | " + " | ".join(f"{p}: return, {', '.join(errors)}" for p in names)
              + " |")  # fmt: skip
        print("|---|" + "---|" * len(names))
        for steps, row in wide.iterrows():
            cells = [", ".join([f"{row['mean_return'][p]:.0f}"]
                               + [f"{row[c][p]:.4f}" for c in errors]) for p in names]  # fmt: skip
            print(f"| {steps} | " + " | ".join(cells) + " |")
        print(f"\nexpert return {expert}")
        for name, part in frame.groupby("policy"):
            reached = None
            if expert is not None and expert > 0:
                reached = part[part.mean_return >= 0.9 * expert].env_steps.min()
            for column in errors:
                print(f"{name}, all: {_correlations(part, column)}")
                if reached is not None and reached == reached:  # NaN: never reached
                    window = part[part.env_steps >= reached]
                    print(f"{name}, from first 90%: {_correlations(window, column)}")
                elif reached is not None:
                    print(f"{name}, from first 90%: never reaches 90% of the expert")


if __name__ == "__main__":
    main()
