"""Where the final policies of ``benchmarks/online_stability.py`` runs end their episodes, beside
the one demonstration they imitated: per run and scored policy (the last iterate and each tracked
average), the return, length and whether it fell (terminated before the time limit) of the same
5 greedy evaluation episodes as the curve's last row (reset seeds 10,000-10,004), as a Markdown
table, with each policy's mean squared distance to the demonstration's actions on the
demonstration's own states (``demo action error``, in the environment's action units; a policy
that has drifted from the expert where the expert went shows it there). A policy that falls near
where its demonstration fell imitates the fall. ``--at STEPS`` replays the policies saved at that
evaluation instead of the final ones (runs made with ``online_stability.py --keep-policies``).
Run: ``.venv/bin/python benchmarks/stability_episodes.py RUN_DIR... [--pool evaluation] [--at N]``.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from online_stability import GreedyActor, _averages_path, _policies_path, pool_file

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


def demo_action_error(policy: Any, demo: Any) -> float:
    """Mean over the demonstration's steps of :math:`\\|\\pi(s_t) - a_t\\|^2`."""
    observations = np.asarray(demo.observations[: len(demo.actions)], dtype=np.float32)
    return float(np.mean(np.sum((policy.predict(observations) - demo.actions) ** 2, axis=1)))


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The run folders and ``--pool`` (for :func:`load_run`) of the tools that replay a run."""
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument(
        "--pool",
        choices=["tuning", "evaluation", "all"],
        help="runs that do not record theirs (default evaluation)",
    )


def saved_steps(run: Path) -> list[int]:
    """The evaluations whose policies ``run`` saved (``--keep-policies``), in order."""
    return sorted(int(p.stem) for p in (run / "policies").glob("*.pt"))


def _copies(actor: torch.nn.Module, weights: dict[str, Any]) -> dict[str, torch.nn.Module]:
    """``actor`` with each of ``weights``'s state dicts loaded, by the same names."""
    copies = {}
    for name, state_dict in weights.items():
        copies[name] = copy.deepcopy(actor)
        copies[name].load_state_dict(state_dict)
    return copies


def load_run(run: Path, pool: str | None) -> tuple[Any, Any, Any]:
    """An online run's state, model and the demonstrations it was trained on, drawn again from
    the pool recorded in the run folder (``pool``: that of runs older than the record, default
    ``evaluation``; one that contradicts the record is refused)."""
    state, model = load_checkpoint(run, "cpu:0")
    if state is None or model is None or state.online is None:
        raise SystemExit(f"{run} holds no online run checkpoint")
    if pool_file(run).exists():
        recorded = json.loads(pool_file(run).read_text())["pool"]
        if pool not in (None, recorded):
            raise SystemExit(f"{run} drew its demonstrations from pool {recorded!r}, not {pool!r}")
        pool = recorded
    pool = pool or "evaluation"
    n_episodes = load_minari(state.dataset, n_trajectories=1).metadata.source_episodes
    positions = None if pool == "all" else pool_positions(pool, n_episodes)
    data = load_minari(state.dataset, n_trajectories=state.demos, seed=state.seed,
                       episodes=positions)  # fmt: skip
    return state, model, data


def _saved_policies(run: Path, steps: int, actor: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """The actors scored at evaluation ``steps``, from ``policies/<steps>.pt``."""
    path = _policies_path(run, steps)
    if not path.exists():
        saved = saved_steps(run)
        if not saved:
            raise SystemExit(f"{run} saved no policies: rerun with online_stability.py "
                             "--keep-policies")  # fmt: skip
        raise SystemExit(f"{run} saved no policies at {steps} steps; it saved them at "
                         f"{saved[0]}-{saved[-1]} ({len(saved)} evaluations)")  # fmt: skip
    return _copies(actor, torch.load(path))


def run_rows(run: Path, pool: str | None, episodes: int, at: int | None = None) -> list[str]:
    """Table rows for one run folder: its demonstration, then each policy scored at evaluation
    ``at`` (``None``: the final ones)."""
    state, model, data = load_run(run, pool)
    demo = data.episodes[0]
    name = f"{run.name} ({at if at is not None else state.steps_done:,} steps)"
    demo_fell = bool(demo.terminated)
    rows = [f"| {name} | demonstration | {float(demo.rewards.sum()):.0f} | "
            f"{len(demo.actions)} | {'fell' if demo_fell else 'time limit'} | 0 |"]  # fmt: skip
    actor = model.impl.policy
    policies: dict[str, Any] = {"last": GreedyActor(model, actor)}
    averages_file = _averages_path(run, state.steps_done)
    if at is not None:
        saved = _saved_policies(run, at, actor)
        policies = {policy_name: GreedyActor(model, a) for policy_name, a in saved.items()}
    elif averages_file.exists():
        averages = _copies(actor, torch.load(averages_file))
        policies |= {f"ema_{float(beta):g}": GreedyActor(model, a) for beta, a in averages.items()}
    train_env, env = online_envs(state.online, data.metadata)  # with the dataset's keywords
    train_env.close()  # only the evaluation environment rolls out
    for policy_name, policy in policies.items():
        results = [rollout(policy, env, 10_000 + k) for k in range(episodes)]
        returns = ", ".join(f"{r:.0f}" for r, _, _ in results)
        lengths = ", ".join(str(n) for _, n, _ in results)
        falls = sum(fell for _, _, fell in results)
        error = demo_action_error(policy, demo)
        rows.append(f"| {name} | {policy_name} | {returns} | {lengths} | {falls} of {episodes} "
                    f"| {error:.3f} |")  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser)
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--at", type=int, help="replay the policies saved at this evaluation")
    args = parser.parse_args()
    set_torch_threads()
    quiet_d3rlpy()
    print("| run | policy | returns | lengths | fell | demo action error |")
    print("|---|---|---|---|---|---|")
    for run in args.runs:
        for row in run_rows(run, args.pool, args.episodes, args.at):
            print(row, flush=True)


if __name__ == "__main__":
    main()
