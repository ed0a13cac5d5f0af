"""Write expert or random demonstrations into a Minari dataset with ``minari.DataCollector``.

Reference scores follow Minari's convention: ``ref_min_score`` is the mean return of a uniform
random policy and ``ref_max_score`` the mean return of the expert controller, each measured on
``reference_episodes`` episodes with reset seeds from 1_000_000 (the same for every dataset of an
environment, so its expert and random datasets share reference scores). Seeds, controller and
environment arguments are stored under the ``offline_iq`` key of the dataset metadata.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import minari
import numpy as np
from tqdm.auto import tqdm

from offline_iq.experts.controllers import (
    ExpertPolicy,
    make_expert,
    make_random_policy,
    rollout_returns,
)
from offline_iq.experts.trained import TrainedExpert

__all__ = ["PolicyKind", "collect_dataset", "minari_store"]

PolicyKind = Literal["expert", "random"]
REFERENCE_SEED = 1_000_000  # reference episodes: one fixed seed range, never a collection seed


@contextlib.contextmanager
def minari_store(root: str | os.PathLike[str] | None) -> Iterator[None]:
    """Temporarily point ``MINARI_DATASETS_PATH`` at ``root`` (no-op for ``None``)."""
    if root is None:
        yield
        return
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(Path(root).resolve())
    try:
        yield
    finally:
        if previous is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous


def _policy(
    kind: PolicyKind, env_id: str, env: gym.Env[Any, Any], seed: int, **kw: Any
) -> ExpertPolicy:
    if kind == "expert":
        return make_expert(env_id, **kw)
    if kind == "random":
        return make_random_policy(env.action_space, seed)
    raise ValueError(f"policy must be 'expert' or 'random', got {kind!r}")


def _reference_scores(
    env_id: str, expert: ExpertPolicy, episodes: int, kwargs: dict[str, Any]
) -> tuple[float, float]:
    """Mean returns of a uniform random policy and of ``expert`` on the reference seeds."""
    ref_max = float(np.mean(rollout_returns(env_id, expert, episodes, REFERENCE_SEED, **kwargs)))
    probe = gym.make(env_id, **kwargs)
    random_policy = make_random_policy(probe.action_space, REFERENCE_SEED)
    probe.close()
    ref_min = float(
        np.mean(rollout_returns(env_id, random_policy, episodes, REFERENCE_SEED, **kwargs))
    )
    return ref_min, ref_max


def _record(
    env: Any, actor: ExpertPolicy, n_episodes: int, seed: int, desc: str, show_progress: bool
) -> list[float]:
    """Roll ``actor`` out in the collector ``env`` (reset seeds ``seed ..``); the returns."""
    returns = []
    for episode in tqdm(range(n_episodes), desc=desc, disable=not show_progress):
        observation, _ = env.reset(seed=seed + episode)
        actor.reset()
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, _ = env.step(actor(observation))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def collect_dataset(
    env_id: str,
    *,
    dataset_id: str,
    n_episodes: int,
    policy: PolicyKind = "expert",
    seed: int = 0,
    root: str | os.PathLike[str] | None = None,
    reference_episodes: int = 50,
    env_kwargs: dict[str, Any] | None = None,
    show_progress: bool = True,
    expert_model: str | os.PathLike[str] | None = None,
) -> minari.MinariDataset:
    """Roll out ``policy`` for ``n_episodes`` (reset seeds ``seed .. seed + n - 1``) and save them.

    Args:
        env_id: gymnasium id with a built-in expert (see ``SUPPORTED_EXPERT_ENVS``).
        dataset_id: Minari id to create, e.g. ``"cartpole/expert-v0"``.
        n_episodes: number of episodes to record (>= 1).
        policy: ``"expert"`` (the built-in controller) or ``"random"`` (uniform actions).
        seed: first environment reset seed; also seeds the random policy.
        root: Minari store to write into (default: ``$MINARI_DATASETS_PATH`` or ``~/.minari``).
        reference_episodes: episodes used for each of ``ref_min_score`` and ``ref_max_score``.
        env_kwargs: extra ``gymnasium.make`` arguments (e.g. ``continuous=True``).
        expert_model: a saved d3rlpy model (e.g. ``experts/Hopper-v5/best.d3`` from
            ``offline-iq train-expert``) to use as the expert instead of a built-in controller.
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    if reference_episodes < 1:
        raise ValueError(f"reference_episodes must be >= 1, got {reference_episodes}")
    kwargs = dict(env_kwargs or {})
    expert: ExpertPolicy = (
        make_expert(env_id, **kwargs)  # fails early, naming supported envs
        if expert_model is None
        else TrainedExpert(expert_model)
    )
    ref_seed = REFERENCE_SEED
    ref_min, ref_max = _reference_scores(env_id, expert, reference_episodes, kwargs)
    with minari_store(root):
        env = minari.DataCollector(gym.make(env_id, **kwargs), record_infos=False)
        # a fresh built-in controller, so its random stream does not depend on the references
        actor = (
            expert
            if policy == "expert" and expert_model is not None
            else _policy(policy, env_id, env, seed, **kwargs)
        )
        returns = _record(env, actor, n_episodes, seed, f"collect {dataset_id}", show_progress)
        dataset = env.create_dataset(
            dataset_id=dataset_id,
            algorithm_name=actor.name,
            description=(
                f"{n_episodes} episodes of {env_id} {kwargs or ''} by {actor.name}: "
                f"{actor.description} Mean return {np.mean(returns):.1f} +- {np.std(returns):.1f}."
            ),
            ref_min_score=ref_min,
            ref_max_score=ref_max,
            eval_env=env_id if not kwargs else gym.make(env_id, **kwargs).spec,
        )
        provenance = {
            "policy": policy,
            "controller": actor.name,
            "controller_description": actor.description,
            "env_id": env_id,
            "env_kwargs": kwargs,
            "episode_seeds": [seed, seed + n_episodes - 1],
            "reference_seeds": [ref_seed, ref_seed + reference_episodes - 1],
            "reference_episodes": reference_episodes,
            "mean_return": float(np.mean(returns)),
            "std_return": float(np.std(returns)),
        }
        dataset.storage.update_metadata({"offline_iq": json.dumps(provenance)})
        env.close()
    return dataset
