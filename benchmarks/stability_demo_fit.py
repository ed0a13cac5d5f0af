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
Run: ``.venv/bin/python benchmarks/stability_demo_fit.py RUN_DIR... [--pool evaluation]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from online_stability import GreedyActor
from scipy import stats
from stability_episodes import _saved_policies, demo_action_error

from offline_iq.benchmark.cells import pool_positions
from offline_iq.data import load_minari
from offline_iq.runtime import quiet_d3rlpy, set_torch_threads
from offline_iq.training import load_checkpoint


def demo_fit(run: Path, pool: str) -> pd.DataFrame:
    """One row per saved evaluation and policy: ``env_steps``, ``policy``, ``mean_return`` (the
    curve's) and ``demo_action_error``; ``attrs["expert"]`` is the dataset's expert return."""
    state, model = load_checkpoint(run, "cpu:0")
    if state is None or model is None or state.online is None:
        raise SystemExit(f"{run} holds no online run checkpoint")
    n_episodes = load_minari(state.dataset, n_trajectories=1).metadata.source_episodes
    positions = None if pool == "all" else pool_positions(pool, n_episodes)
    data = load_minari(state.dataset, n_trajectories=state.demos, seed=state.seed,
                       episodes=positions)  # fmt: skip
    demo = data.episodes[0]
    observations = demo.observations[: len(demo.actions)]
    curve = pd.read_csv(run / "curve.csv").set_index(["env_steps", "policy"])
    saved = sorted(int(p.stem) for p in (run / "policies").glob("*.pt"))
    if not saved:
        raise SystemExit(f"{run}/policies is empty: rerun with online_stability.py --keep-policies")
    rows = []
    for steps in saved:
        for name, actor in _saved_policies(run, steps, model.impl.policy).items():
            error = demo_action_error(GreedyActor(model, actor), observations, demo.actions)
            mean_return = float(curve.loc[(steps, name), "mean_return"])
            rows.append({"env_steps": steps, "policy": name, "mean_return": mean_return,
                         "demo_action_error": error})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame.attrs["expert"] = data.metadata.ref_max_score
    return frame


def _correlations(rows: pd.DataFrame) -> str:
    """Pearson and Spearman correlations of demonstration error and return over ``rows``."""
    if len(rows) < 3 or rows.demo_action_error.nunique() < 2 or rows.mean_return.nunique() < 2:
        return f"{len(rows)} evaluations, too few to correlate"
    pearson = stats.pearsonr(rows.demo_action_error, rows.mean_return).statistic
    spearman = stats.spearmanr(rows.demo_action_error, rows.mean_return).statistic
    return (f"{len(rows)} evaluations, corr(demo error, return) Pearson {pearson:.2f}, "
            f"Spearman {spearman:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--pool", default="evaluation", choices=["tuning", "evaluation", "all"])
    args = parser.parse_args()
    set_torch_threads()
    quiet_d3rlpy()
    for run in args.runs:
        frame = demo_fit(run, args.pool)
        print(f"\n### {run.name}\n")
        expert = frame.attrs["expert"]
        wide = frame.pivot(index="env_steps", columns="policy")
        names = list(wide["mean_return"].columns)
        print("| env steps | " + " | ".join(f"{p}: return, demo error" for p in names) + " |")
        print("|---|" + "---|" * len(names))
        for steps, row in wide.iterrows():
            cells = [f"{row['mean_return'][p]:.0f}, {row['demo_action_error'][p]:.4f}"
                     for p in names]  # fmt: skip
            print(f"| {steps} | " + " | ".join(cells) + " |")
        print(f"\nexpert return {expert}")
        for name, part in frame.groupby("policy"):
            print(f"{name}, all: {_correlations(part)}")
            if expert is not None and expert > 0:
                reached = part[part.mean_return >= 0.9 * expert].env_steps.min()
                window = part[part.env_steps >= reached]  # empty if never reached
                print(f"{name}, from first 90%: {_correlations(window)}")


if __name__ == "__main__":
    main()
