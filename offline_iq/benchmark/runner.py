"""Run one benchmark cell: take the expert subset, fit with a fixed budget, evaluate."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import d3rlpy
import numpy as np

from offline_iq.benchmark.cells import Cell
from offline_iq.data import load_minari
from offline_iq.data.buffer import ExpertReplayBuffer
from offline_iq.data.replay_checkpoint import REPLAY_CAPACITY
from offline_iq.evaluation import evaluate_policy
from offline_iq.learners import make_config, make_online_config
from offline_iq.preprocessing import resolve_scaler
from offline_iq.runtime import quiet_d3rlpy, set_torch_threads
from offline_iq.training import train_in_chunks

__all__ = ["EVAL_POINTS", "CellResult", "run_cell"]

EVAL_POINTS = 4  # evaluations during training; "best" is the best of them
EVAL_SEED = 10_000  # evaluation episodes never reuse a dataset seed


@dataclasses.dataclass(frozen=True)
class CellResult:
    """One row of the results CSV."""

    key: str
    dataset: str
    algo: str
    mode: str
    n_trajectories: int
    subsample: int
    seed: int
    steps: int
    eval_episodes: int
    scaler: str
    transitions: int
    final_return: float
    final_return_std: float
    best_return: float
    final_normalized: float
    best_normalized: float
    ref_min_score: float
    ref_max_score: float
    wall_time_s: float
    grad_steps_per_s: float


def run_cell(cell: Cell, device: str = "cpu:0") -> CellResult:
    """Fit ``cell.algo`` on its expert subset and evaluate it ``EVAL_POINTS`` times.

    Online cells (``cell.mode == "online"``) attach the subset as demonstrations and run
    ``fit_online`` for ``cell.steps`` environment steps (updates start after 1,000 steps, or
    a quarter of the budget if that is smaller); ``grad_steps_per_s`` then counts env steps.
    """
    set_torch_threads()
    quiet_d3rlpy()
    start = time.perf_counter()
    data = load_minari(
        cell.dataset, n_trajectories=cell.n_trajectories, subsample=cell.subsample, seed=cell.seed
    )
    meta = data.metadata
    if meta.ref_min_score is None or meta.ref_max_score is None:
        raise ValueError(f"{cell.dataset} has no reference scores to normalise with")
    d3rlpy.seed(cell.seed)
    online = cell.mode == "online"
    make = make_online_config if online else make_config
    algo: Any = make(cell.algo, data, scaler=cell.scaler).create(device=device)
    env = meta.make_env(eval_env=True)
    per_eval = max(cell.steps // EVAL_POINTS, 1)
    evaluations: list[np.ndarray] = []
    train_time = 0.0

    def evaluate() -> None:
        evaluations.append(
            evaluate_policy(algo, env, cell.eval_episodes, seed=EVAL_SEED + 1000 * cell.seed)
        )

    train_env, buffer = None, None
    if online:
        algo.attach_demonstrations(data)
        train_env = meta.make_env()
        train_env.reset(seed=cell.seed)
        buffer = d3rlpy.dataset.create_fifo_replay_buffer(REPLAY_CAPACITY, env=train_env)
    tick = time.perf_counter()
    for _done in train_in_chunks(
        algo,
        data,
        steps=per_eval * EVAL_POINTS,
        chunk=per_eval,
        env=train_env,
        buffer=buffer,
        warmup=min(1000, max(per_eval * EVAL_POINTS // 4, 1)),
    ):
        train_time += time.perf_counter() - tick
        evaluate()
        tick = time.perf_counter()
    if train_env is not None:
        train_env.close()
    env.close()
    timing = (time.perf_counter() - start, per_eval * EVAL_POINTS / max(train_time, 1e-9))
    return _result(cell, data, per_eval * EVAL_POINTS, evaluations, timing)


def _result(
    cell: Cell,
    data: ExpertReplayBuffer,
    steps: int,
    evaluations: list[np.ndarray],
    timing: tuple[float, float],
) -> CellResult:
    """The results row of ``cell`` from its evaluations (the last is the headline)."""
    meta = data.metadata
    assert meta.ref_min_score is not None and meta.ref_max_score is not None
    means = [float(r.mean()) for r in evaluations]
    final, best = means[-1], max(means)
    return CellResult(
        key=cell.key(),
        dataset=cell.dataset,
        algo=cell.algo,
        mode=cell.mode,
        n_trajectories=cell.n_trajectories,
        subsample=cell.subsample,
        seed=cell.seed,
        steps=steps,
        eval_episodes=cell.eval_episodes,
        scaler=resolve_scaler(data, cell.scaler, online=cell.mode == "online"),
        transitions=len(data.transitions),
        final_return=final,
        final_return_std=float(evaluations[-1].std()),
        best_return=best,
        final_normalized=float(meta.normalize_score(final)),
        best_normalized=float(meta.normalize_score(best)),
        ref_min_score=meta.ref_min_score,
        ref_max_score=meta.ref_max_score,
        wall_time_s=timing[0],
        grad_steps_per_s=timing[1],
    )
