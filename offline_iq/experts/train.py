"""Train an expert with d3rlpy's own online algorithms (SAC or TD3), resumably.

Training runs in chunks of ``chunk_steps`` environment steps; after each chunk the model is
evaluated and checkpointed (``model.d3`` + ``state.json``; the replay buffer goes to
``buffer.h5`` when ``keep_buffer``). The best evaluated model so far is kept as ``best.d3`` (its
step and return in ``state["best"]``): SAC on MuJoCo oscillates, e.g. Hopper-v5 went 3161 ->
1102 between two checkpoints here, so the last model is not always the one to collect with.
Rerunning with the same ``out`` folder resumes from the last checkpoint. If ``buffer.h5`` is
missing (a fresh clone keeps only the model files), the resumed model first refills the buffer
with ``refill_steps`` steps of its own stochastic policy, without updates: SAC updating at one
gradient step per transition on a buffer of a few transitions would overfit them.

``from_best`` resumes from ``best.d3`` instead of the last model: a way back when SAC has fallen
from its best and stayed down (Ant-v5 here: 3040 at 660k steps, then below 1,300 for the next
150k). ``steps_done`` keeps counting every environment step taken, the discarded ones included,
the replay buffer is kept as it is, and the restart is recorded in ``state["restarts"]``.

``env_kwargs`` go to ``gym.make`` and are stored in ``state["env_kwargs"]``; a resume reuses the
stored ones (``None``) and refuses different ones, so a run never changes environment midway.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import d3rlpy
import gymnasium as gym
import numpy as np

from offline_iq.data.replay_checkpoint import load_or_create_replay_buffer, save_replay_buffer
from offline_iq.evaluation import evaluate_policy
from offline_iq.runtime import quiet_d3rlpy

__all__ = ["EXPERT_ALGOS", "train_expert"]

EXPERT_ALGOS = {"sac": d3rlpy.algos.SACConfig, "td3": d3rlpy.algos.TD3Config}


def train_expert(
    env_id: str,
    out: Path,
    *,
    algo: str = "sac",
    steps: int = 300_000,
    chunk_steps: int = 10_000,
    eval_episodes: int = 5,
    seed: int = 0,
    device: str = "cpu:0",
    keep_buffer: bool = True,
    refill_steps: int = 10_000,
    from_best: bool = False,
    env_kwargs: dict[str, Any] | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """Train (or resume) an expert for ``env_id``; returns the saved state."""
    if algo not in EXPERT_ALGOS:
        raise ValueError(
            f"unknown expert algorithm {algo!r}; choose from {', '.join(EXPERT_ALGOS)}"
        )
    if steps < 1 or chunk_steps < 1 or refill_steps < 0:
        raise ValueError("steps and chunk_steps must be >= 1, refill_steps >= 0")
    quiet_d3rlpy()
    out.mkdir(parents=True, exist_ok=True)
    state_path, model_path, buffer_path = out / "state.json", out / "model.d3", out / "buffer.h5"
    best_path = out / "best.d3"
    resuming = state_path.exists() and model_path.exists()
    stored = json.loads(state_path.read_text()) if resuming else None
    if stored is not None:
        if stored["env_id"] != env_id or stored["algo"] != algo:
            raise ValueError(f"{out} holds a {stored['algo']} run on {stored['env_id']}")
        if env_kwargs is not None and dict(env_kwargs) != stored.get("env_kwargs", {}):
            raise ValueError(
                f"{out} was trained with env_kwargs {stored.get('env_kwargs', {})}, "
                f"not {dict(env_kwargs)}: resume with the same (or none)"
            )
    kwargs = dict(stored.get("env_kwargs", {}) if stored is not None else env_kwargs or {})
    env, eval_env = gym.make(env_id, **kwargs), gym.make(env_id, **kwargs)
    if stored is not None:
        state = stored
        if from_best and not best_path.exists():
            raise ValueError(f"{out} has no best.d3 to restart from")
        model: Any = d3rlpy.load_learnable(
            str(best_path if from_best else model_path), device=device
        )
        log(f"resuming {out} at env step {state['steps_done']}")
        if from_best:
            best = state["best"]
            state.setdefault("restarts", []).append(
                {
                    "at_step": state["steps_done"],
                    "weights_from_step": best["steps"],
                    "weights_return": best["return"],
                }
            )
            log(f"with the weights of best.d3 (step {best['steps']}, return {best['return']:.1f})")
    elif from_best:
        raise ValueError(f"{out} holds no run to restart from its best checkpoint")
    else:
        d3rlpy.seed(seed)
        model = EXPERT_ALGOS[algo]().create(device=device)
        state = {"env_id": env_id, "algo": algo, "seed": seed, "env_kwargs": kwargs,
                 "steps_done": 0, "evaluations": []}  # fmt: skip
    buffer = load_or_create_replay_buffer(buffer_path, env)
    refill = refill_steps if int(state["steps_done"]) > 0 and buffer.transition_count == 0 else 0
    if refill:
        log(f"{buffer_path} is missing: refilling {refill} steps with the policy before updating")
    env.reset(seed=seed + int(state["steps_done"]))
    while int(state["steps_done"]) < steps:
        n = min(chunk_steps, steps - int(state["steps_done"]))
        start = time.perf_counter()
        first = int(state["steps_done"]) == 0
        model.fit_online(
            env,
            buffer=buffer,
            n_steps=n,
            n_steps_per_epoch=n,
            random_steps=5_000 if first else 0,
            update_start_step=1_000 if first else refill,
            logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
            show_progress=True,
        )
        state["steps_done"] = int(state["steps_done"]) + n
        refill = max(0, refill - n)
        returns = evaluate_policy(model, eval_env, eval_episodes, seed=10_000)
        state["evaluations"].append([state["steps_done"], float(np.mean(returns))])
        rate = n / (time.perf_counter() - start)
        log(f"{env_id} {algo}: step {state['steps_done']}, return {np.mean(returns):.1f} "
            f"± {np.std(returns):.1f}, {rate:.0f} env steps/s")  # fmt: skip
        model.save(str(model_path))
        best = state.get("best")
        if best is None or float(np.mean(returns)) > float(best["return"]):
            model.save(str(best_path))
            state["best"] = {"steps": state["steps_done"], "return": float(np.mean(returns)),
                             "std": float(np.std(returns))}  # fmt: skip
        if keep_buffer:
            save_replay_buffer(buffer, buffer_path)
        state_path.write_text(json.dumps(state, indent=2))
    return state
