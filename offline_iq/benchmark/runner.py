"""Run one benchmark cell: take the expert subset, fit with a fixed budget, evaluate.

The learner is evaluated at every checkpoint of ``cell.checkpoints`` (fixed before the run);
the headline ``final_*`` numbers are the last checkpoint's, never the best one's.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any

import d3rlpy
import numpy as np

from offline_iq.benchmark.cells import Cell
from offline_iq.data.buffer import ExpertReplayBuffer
from offline_iq.data.online_buffer import create_fast_fifo_replay_buffer
from offline_iq.data.replay_checkpoint import REPLAY_CAPACITY
from offline_iq.evaluation import evaluate_policy
from offline_iq.learners import config_digest
from offline_iq.preprocessing import resolve_scaler
from offline_iq.provenance import git_commit, package_version
from offline_iq.runtime import quiet_d3rlpy, set_torch_threads
from offline_iq.training import logged_training_data, train_in_chunks

__all__ = ["CellResult", "run_cell"]

EVAL_SEED = 10_000  # evaluation episodes never reuse a dataset seed


def _joined(values: list[float] | list[int] | tuple[int, ...]) -> str:
    return ";".join(repr(float(v)) if isinstance(v, float) else str(v) for v in values)


@dataclasses.dataclass(frozen=True)
class CellResult:
    """One row of the results CSV (``eval_*``: the learning curve, ``;``-separated)."""

    key: str
    dataset: str
    algo: str
    mode: str
    logged: str  # the logged dataset of a ``logged``-mode cell, "none" otherwise
    n_trajectories: int
    subsample: int
    seed: int
    steps: int
    eval_episodes: int
    scaler: str
    pool: str
    options: str  # JSON of the learner overrides
    config_id: str
    transitions: int
    final_return: float
    final_return_std: float
    final_normalized: float
    eval_steps: str
    eval_returns: str
    eval_normalized: str
    ref_min_score: float
    ref_max_score: float
    wall_time_s: float
    grad_steps_per_s: float
    version: str
    commit: str


def run_cell(cell: Cell, device: str = "cpu:0") -> CellResult:
    """Fit ``cell.algo`` on its expert subset, evaluating at each of ``cell.checkpoints``.

    Online cells (``cell.mode == "online"``) attach the subset as demonstrations and run
    ``fit_online`` for ``cell.steps`` environment steps (updates start after 1,000 steps, or
    a quarter of the budget if that is smaller); ``grad_steps_per_s`` then counts env steps.
    Logged cells (``cell.mode == "logged"``) train on the subset and the cell's logged dataset
    (:func:`~offline_iq.training.logged_training_data`).
    """
    set_torch_threads()
    quiet_d3rlpy(logging.ERROR)  # not the "models already built" of every checkpoint
    start = time.perf_counter()
    data = cell.load()
    meta = data.metadata
    if meta.ref_min_score is None or meta.ref_max_score is None:
        raise ValueError(f"{cell.dataset} has no reference scores to normalise with")
    d3rlpy.seed(cell.seed)
    config = cell.make_config(data)
    digest = config_digest(config)
    if cell.config_id and digest != cell.config_id:
        raise ValueError(f"cell {cell.key()} does not build the config its key names")
    cell = dataclasses.replace(cell, config_id=digest)
    algo: Any = config.create(device=device)
    env = meta.make_env(eval_env=True)
    evaluations: list[np.ndarray] = []
    train_env, buffer = None, None
    online = cell.mode == "online"
    train_data: Any = data
    if cell.mode == "logged":
        train_data = logged_training_data(algo, data, cell.load_logged())
    if online:
        algo.attach_demonstrations(data)
        train_env = meta.make_env()
        train_env.reset(seed=cell.seed)
        buffer = create_fast_fifo_replay_buffer(REPLAY_CAPACITY, env=train_env)
    train_time, done = 0.0, 0
    for point in cell.checkpoints:
        tick = time.perf_counter()
        chunks = train_in_chunks(
            algo,
            train_data,
            steps=point,
            chunk=point - done,
            done=done,
            env=train_env,
            buffer=buffer,
            warmup=min(1000, max(cell.steps // 4, 1)),
        )
        for reached in chunks:
            done = reached
        train_time += time.perf_counter() - tick
        evaluations.append(
            evaluate_policy(algo, env, cell.eval_episodes, seed=EVAL_SEED + 1000 * cell.seed)
        )
    if train_env is not None:
        train_env.close()
    env.close()
    timing = (time.perf_counter() - start, cell.steps / max(train_time, 1e-9))
    return _result(cell, data, evaluations, timing)


def _result(
    cell: Cell,
    data: ExpertReplayBuffer,
    evaluations: list[np.ndarray],
    timing: tuple[float, float],
) -> CellResult:
    """The results row of ``cell`` from its evaluations (the last is the headline)."""
    meta = data.metadata
    assert meta.ref_min_score is not None and meta.ref_max_score is not None
    means = [float(r.mean()) for r in evaluations]
    normalized = [float(meta.normalize_score(m)) for m in means]
    return CellResult(
        key=cell.key(),
        dataset=cell.dataset,
        algo=cell.algo,
        mode=cell.mode,
        logged=cell.logged or "none",
        n_trajectories=cell.n_trajectories,
        subsample=cell.subsample,
        seed=cell.seed,
        steps=cell.steps,
        eval_episodes=cell.eval_episodes,
        scaler=resolve_scaler(data, cell.scaler, online=cell.mode == "online"),
        pool=cell.pool,
        options=json.dumps(cell.overrides, sort_keys=True),
        config_id=cell.config_id,
        transitions=len(data.transitions),
        final_return=means[-1],
        final_return_std=float(evaluations[-1].std()),
        final_normalized=normalized[-1],
        eval_steps=_joined(cell.checkpoints),
        eval_returns=_joined(means),
        eval_normalized=_joined(normalized),
        ref_min_score=meta.ref_min_score,
        ref_max_score=meta.ref_max_score,
        wall_time_s=timing[0],
        grad_steps_per_s=timing[1],
        version=package_version(),
        commit=git_commit(),
    )
