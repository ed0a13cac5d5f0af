"""An online learning curve that scores the actor's last iterate and moving averages of it on
the same run (issue 19: what makes the Hopper curve swing).

Online IQ-Learn (or ValueDICE) from ``--demos`` demonstrations drawn from an episode pool of
the dataset, evaluated every ``--eval-every`` environment steps with ``--episodes`` greedy
episodes (reset seeds 10,000 + i, as ``offline-iq fit``): the last iterate, each moving average
``--track`` beta (weights ``(1 - beta) avg + beta actor`` after every gradient update, kept
beside the run and never acting in it, so every policy scored comes from one and the same
training), and the learner's own averaged policy when its config has ``policy_averaging``.
Resumable: rerun the same command (the tracked averages are checkpointed with the run, in
``averages-<steps>.pt``). The averages start at the initial actor (no bias correction: its
weight decays as ``(1 - beta)^updates``), as ``policy_averaging`` does.
Writes ``curve.csv`` (env_steps, policy, mean_return, std, returns, seconds) in ``--out`` and
prints :func:`~offline_iq.benchmark.online_criteria.judge_curve`'s verdict against the
dataset's expert return. ``--keep-policies`` also saves the weights of every scored actor (the last
iterate and the tracked averages; not the config's own ``policy_averaging``) at every
evaluation (``policies/<steps>.pt``, about 0.3 MB per actor for Hopper), so that
``benchmarks/stability_episodes.py --at STEPS`` can replay the policies of a dip. Example (a
tuning seed and the tuning pool, never a report's)::

    python benchmarks/online_stability.py Hopper-v5 hopper/expert-v0 --seed 100 --pool tuning \\
        --steps 60000 --eval-every 2500 --track 0.001 --track 0.0001 --out runs/stability/paper
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from typing import Any

import d3rlpy
import numpy as np
import pandas as pd
import torch

from offline_iq.algos.torch.updates import polyak_update
from offline_iq.benchmark.cells import pool_positions
from offline_iq.benchmark.online_criteria import judge_curve
from offline_iq.cli.app import parse_options
from offline_iq.data import load_minari
from offline_iq.data.replay_checkpoint import REPLAY_CAPACITY
from offline_iq.evaluation import evaluate_policy
from offline_iq.learners import make_online_config
from offline_iq.runtime import quiet_d3rlpy, set_torch_threads
from offline_iq.training import (
    RunState,
    load_checkpoint,
    online_envs,
    replay_buffer,
    save_checkpoint,
    train_in_chunks,
)

COLUMNS = ["env_steps", "policy", "mean_return", "std", "returns", "seconds"]


class GreedyActor:
    """``predict`` with ``actor`` (a squashed-Gaussian policy) and ``model``'s scalers."""

    def __init__(self, model: Any, actor: torch.nn.Module) -> None:
        self._model, self._actor = model, actor

    def predict(self, x: np.ndarray) -> np.ndarray:
        cfg = self._model.config
        with torch.no_grad():
            obs = torch.as_tensor(x)
            if cfg.observation_scaler is not None:
                obs = cfg.observation_scaler.transform(obs)
            action = torch.tanh(self._actor(obs).mu)
            if cfg.action_scaler is not None:
                action = cfg.action_scaler.reverse_transform(action)
        return np.asarray(action.cpu().numpy())


def _averages_path(out: Path, steps: int) -> Path:
    return out / f"averages-{steps}.pt"


def _policies_path(out: Path, steps: int) -> Path:
    """Every scored actor's weights at evaluation ``steps`` (``--keep-policies``)."""
    return out / "policies" / f"{steps}.pt"


def pool_file(out: Path) -> Path:
    """The episode pool the run's demonstrations were drawn from (``{"pool": ...}``)."""
    return out / "demonstration.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env_id")
    parser.add_argument("dataset")
    parser.add_argument("--algo", default="iq", choices=["iq", "valuedice"])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--pool", default="tuning", choices=["tuning", "evaluation", "all"])
    parser.add_argument("--demos", type=int, default=1)
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--eval-every", type=int, default=2_500)
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--track", type=float, action="append", default=[], help="an EMA rate")
    parser.add_argument("-o", "--option", action="append", default=[])
    parser.add_argument(
        "--replay-capacity", type=int, help=f"policy transitions kept (new runs: {REPLAY_CAPACITY})"
    )
    parser.add_argument(
        "--keep-policies",
        action="store_true",
        help="save every scored actor at every evaluation (policies/<steps>.pt)",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    set_torch_threads()
    quiet_d3rlpy()
    n_episodes = load_minari(args.dataset, n_trajectories=1).metadata.source_episodes
    positions = None if args.pool == "all" else pool_positions(args.pool, n_episodes)
    data = load_minari(args.dataset, n_trajectories=args.demos, seed=args.seed, episodes=positions)
    expert = data.metadata.ref_max_score
    options = parse_options(args.option)
    state, model = load_checkpoint(args.out, "cpu:0")
    if state is None or model is None:
        model = make_online_config(args.algo, data, **options).create(device="cpu:0")
        capacity = args.replay_capacity or REPLAY_CAPACITY
        state = RunState(args.dataset, args.algo, args.demos, 1, args.seed, args.env_id, options,
                         replay_capacity=capacity)  # fmt: skip
    elif (
        state.options != options
        or state.seed != args.seed
        or args.replay_capacity not in (None, state.replay_capacity)  # as `offline-iq fit`
    ):
        raise SystemExit(f"{args.out} holds a run with other options, seed or replay capacity")
    recorded = (
        json.loads(pool_file(args.out).read_text())["pool"]
        if pool_file(args.out).exists()
        else None
    )
    if recorded not in (None, args.pool):
        raise SystemExit(f"{args.out} holds a run whose demonstrations came from pool {recorded!r}")
    args.out.mkdir(parents=True, exist_ok=True)
    pool_file(args.out).write_text(json.dumps({"pool": args.pool}))
    for stale in (args.out / "policies").glob("*.p*"):  # of a chunk redone after a crash
        if stale.suffix != ".pt" or not stale.stem.isdigit() or int(stale.stem) > state.steps_done:
            stale.unlink()
    model.attach_demonstrations(data)
    train_env, eval_env = online_envs(args.env_id, data.metadata)  # the dataset's keywords
    d3rlpy.seed(args.seed + state.steps_done)
    train_env.reset(seed=args.seed + state.steps_done)
    buffer = replay_buffer(args.out, train_env, state.replay_capacity)
    curve_path = args.out / "curve.csv"
    rows = pd.read_csv(curve_path) if curve_path.exists() else None
    if rows is not None:
        rows = rows[rows.env_steps <= state.steps_done]  # a chunk redone after a crash
    if model.impl is None:
        model.build_with_env(train_env)
    actor = model.impl.policy
    averages = {beta: copy.deepcopy(actor).requires_grad_(False) for beta in args.track}
    if averages and state.steps_done > 0:  # the averages saved with this checkpoint
        path = _averages_path(args.out, state.steps_done)
        if not path.exists() and (args.out / "averages.pt").exists():  # an older run's file
            print("resuming from averages.pt (saved before its checkpoint)")
            path = args.out / "averages.pt"
        saved = torch.load(path)
        for beta, average in averages.items():
            average.load_state_dict(saved[str(beta)])
    scored = {"last": actor, **{f"ema_{beta:g}": a for beta, a in averages.items()}}
    weights = list(actor.parameters())
    seen = [model.grad_step]

    def track(algo: Any, *_: Any) -> None:  # d3rlpy calls it every env step: once per update
        if algo.grad_step > seen[0]:
            seen[0] = algo.grad_step
            for beta, average in averages.items():
                polyak_update(list(average.parameters()), weights, beta)

    start = time.perf_counter()
    for done in train_in_chunks(
        model, data, steps=args.steps, chunk=args.eval_every, done=state.steps_done,
        env=train_env, buffer=buffer, show_progress=False, callback=track,
        logger_adapter=d3rlpy.logging.FileAdapterFactory(root_dir=str(args.out / "logs")),
        experiment_name=f"from_step_{state.steps_done}", with_timestamp=False,
        save_interval=10**9,
    ):  # fmt: skip
        seconds = time.perf_counter() - start
        policies: dict[str, Any] = {name: GreedyActor(model, a) for name, a in scored.items()}
        if getattr(model.config, "policy_averaging", 0.0) > 0:
            policies["config_average"] = model
        new = []
        for name, policy in policies.items():
            returns = evaluate_policy(policy, eval_env, args.episodes, seed=10_000)
            new.append([done, name, returns.mean(), returns.std(),
                        json.dumps(np.round(returns, 1).tolist()), round(seconds, 1)])  # fmt: skip
        state = state.after_chunk(done, float(new[0][2]))  # the last iterate's
        # rows, then the averages of this step, then the checkpoint (its state last): a crash
        # anywhere redoes the chunk, and resume drops the rows and averages past the state
        chunk_rows = pd.DataFrame(new, columns=COLUMNS)
        rows = chunk_rows if rows is None else pd.concat([rows, chunk_rows], ignore_index=True)
        rows.to_csv(curve_path, index=False)
        if args.keep_policies:
            (args.out / "policies").mkdir(exist_ok=True)
            kept = {name: a.state_dict() for name, a in scored.items()}
            partial = _policies_path(args.out, done).with_suffix(".part")
            torch.save(kept, partial)
            partial.replace(_policies_path(args.out, done))  # never a half-written snapshot
        if averages:
            torch.save({str(b): a.state_dict() for b, a in averages.items()},
                       _averages_path(args.out, done))  # fmt: skip
        save_checkpoint(args.out, model, state, buffer)
        for old in args.out.glob("averages-*.pt"):
            if old != _averages_path(args.out, done):
                old.unlink()
        print(" | ".join(f"step {done} {r[1]} {r[2]:.0f} ± {r[3]:.0f}" for r in new), flush=True)
    if rows is not None and expert is not None and expert > 0:  # negative: reads backwards
        for name, part in rows.groupby("policy"):
            verdict = judge_curve(list(zip(part.env_steps, part.mean_return, strict=True)), expert)
            print(f"{name}: {verdict}")


if __name__ == "__main__":
    main()
