"""Write expert, random or logged (medium, mixed) episodes into a Minari dataset.

Episodes are recorded with ``minari.DataCollector``. Reference scores follow Minari's
convention: ``ref_min_score`` is the mean return of a uniform random policy and
``ref_max_score`` the mean return of the expert controller, each measured on
``reference_episodes`` episodes with reset seeds from 1_000_000 (the same for every dataset of an
environment, so all its datasets share reference scores). Logged datasets (``medium``,
``mixed``) reuse the reference scores of the environment's expert dataset (``<namespace>/
expert-v0`` when it exists, or ``reference_dataset``) instead of recomputing them, and their
episode seeds must not clash with any other dataset of the environment, the reference seeds or
the benchmark's evaluation seeds. Seeds, controller, environment arguments (and, for logged
data, epsilon, its calibration and the per-episode sources) are stored under the ``offline_iq``
key of the dataset metadata.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
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
from offline_iq.experts.logged import (
    Calibration,
    MediumPolicy,
    SeedRange,
    calibrate_epsilon,
    check_epsilon,
    check_seeds_disjoint,
    normalised_score,
    parse_mix,
)
from offline_iq.experts.trained import TrainedExpert

__all__ = [
    "DEFAULT_MIX",
    "EVAL_SEEDS",
    "POLICY_KINDS",
    "REFERENCE_SEED",
    "PolicyKind",
    "collect_dataset",
    "minari_store",
    "reserved_seed_ranges",
]

PolicyKind = Literal["expert", "random", "medium", "mixed"]
POLICY_KINDS: tuple[str, ...] = ("expert", "random", "medium", "mixed")
REFERENCE_SEED = 1_000_000  # reference episodes: one fixed seed range, never a collection seed
REFERENCE_BLOCK = 100_000  # seeds REFERENCE_SEED .. + 99_999 are kept for references/calibration
# offline_iq.benchmark.runner evaluates with seeds EVAL_SEED + 1000 * seed + i (seed < 100)
EVAL_SEEDS = (10_000, 10_000 + 1000 * 99 + 999)
DEFAULT_MIX = "random=20,medium=20,expert=10"
DEFAULT_TARGET_SCORE = 0.5


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


def _read_metadata(data_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A dataset's ``metadata.json`` and its decoded ``offline_iq`` entry (``{}`` if none)."""
    meta: dict[str, Any] = json.loads((data_path / "metadata.json").read_text())
    provenance = meta.get("offline_iq")
    return meta, (json.loads(provenance) if isinstance(provenance, str) else {})


def _roots(root: str | os.PathLike[str] | None) -> list[Path]:
    from offline_iq.data.sources import local_store, shipped_datasets_dir

    found: list[Path] = []
    for candidate in (Path(root) if root is not None else local_store(), shipped_datasets_dir()):
        resolved = candidate.resolve()
        if resolved not in found:
            found.append(resolved)
    return found


def _find_data_path(dataset: str | os.PathLike[str], root: str | os.PathLike[str] | None) -> Path:
    """``dataset`` as a path, an id in ``root``, or an id in the local/shipped stores."""
    from offline_iq.data.sources import resolve_data_path

    if root is not None and isinstance(dataset, str):
        candidate = Path(root) / dataset / "data"
        if (candidate / "metadata.json").is_file():
            return candidate
    return resolve_data_path(dataset)


def reserved_seed_ranges(
    env_id: str,
    env_kwargs: Mapping[str, Any],
    *,
    exclude: str,
    root: str | os.PathLike[str] | None = None,
) -> list[SeedRange]:
    """Seeds a logged dataset must avoid: the reference and evaluation seeds, and the episode
    seeds of every other dataset of the same environment in ``root``, the local store and the
    shipped datasets (``exclude`` is the id being written)."""
    from offline_iq.data.sources import find_dataset_ids

    ranges: list[SeedRange] = []
    for store in _roots(root):
        for dataset_id in find_dataset_ids(store):
            if dataset_id == exclude:
                continue
            try:
                _, provenance = _read_metadata(store / dataset_id / "data")
            except (OSError, ValueError):
                continue
            seeds = provenance.get("episode_seeds")
            if (
                provenance.get("env_id") == env_id
                and provenance.get("env_kwargs", {}) == dict(env_kwargs)
                and isinstance(seeds, list)
                and len(seeds) == 2
            ):
                ranges.append(SeedRange(f"dataset {dataset_id} ({store})", *map(int, seeds)))
    return [
        *ranges,
        SeedRange("the reference seeds", REFERENCE_SEED, REFERENCE_SEED + REFERENCE_BLOCK - 1),
        SeedRange("the benchmark's evaluation seeds", *EVAL_SEEDS),
    ]


def _shipped_reference(
    dataset: str | os.PathLike[str],
    root: str | os.PathLike[str] | None,
    env_id: str,
    env_kwargs: dict[str, Any],
    controller: str,
) -> tuple[float, float, dict[str, Any]]:
    """Reference scores of an expert dataset after checking it is of the same env and expert."""
    data_path = _find_data_path(dataset, root)
    meta, provenance = _read_metadata(data_path)
    ref_min, ref_max = meta.get("ref_min_score"), meta.get("ref_max_score")
    if ref_min is None or ref_max is None:
        raise ValueError(f"reference dataset {dataset} has no ref_min_score/ref_max_score")
    found = (provenance.get("env_id"), provenance.get("env_kwargs", {}))
    if found != (env_id, env_kwargs):
        raise ValueError(
            f"reference dataset {dataset} is of {found[0]} {found[1]}, not {env_id} {env_kwargs}"
        )
    if provenance.get("policy") != "expert" or provenance.get("controller") != controller:
        raise ValueError(
            f"reference dataset {dataset} was recorded by {provenance.get('policy')} "
            f"{provenance.get('controller')!r}, not by the expert {controller!r}"
        )
    info = {
        "reference_dataset": str(dataset),
        "reference_seeds": provenance.get("reference_seeds"),
        "reference_episodes": int(provenance.get("reference_episodes", 50)),
    }
    return float(ref_min), float(ref_max), info


def _record(
    env: Any, plan: list[tuple[ExpertPolicy, int]], desc: str, show_progress: bool
) -> list[float]:
    """Roll each ``(actor, reset seed)`` of ``plan`` out in the collector ``env``; the returns."""
    returns = []
    for actor, episode_seed in tqdm(plan, desc=desc, disable=not show_progress):
        observation, _ = env.reset(seed=episode_seed)
        actor.reset()
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, _ = env.step(actor(observation))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def _check_arguments(
    policy: str,
    n_episodes: int | None,
    epsilon: float | None,
    target_score: float | None,
    mix: str | Mapping[str, int] | None,
    reference_episodes: int,
) -> tuple[int, dict[str, int] | None]:
    """Validate the policy-specific arguments; the episode count and the mixture counts."""
    if policy not in POLICY_KINDS:
        kinds = ", ".join(repr(k) for k in POLICY_KINDS)
        raise ValueError(f"policy must be one of {kinds}, got {policy!r}")
    if policy not in ("medium", "mixed") and (epsilon is not None or target_score is not None):
        raise ValueError(
            f"epsilon/target_score apply to policy 'medium' or 'mixed', not {policy!r}"
        )
    if epsilon is not None and target_score is not None:
        raise ValueError("give epsilon or target_score, not both")
    if epsilon is not None:
        check_epsilon(epsilon)
    if target_score is not None and not 0.0 <= target_score <= 1.0:
        raise ValueError(f"target_score must be in [0, 1], got {target_score!r}")
    if reference_episodes < 1:
        raise ValueError(f"reference_episodes must be >= 1, got {reference_episodes}")
    counts = None
    if policy == "mixed":
        counts = parse_mix(DEFAULT_MIX if mix is None else mix)
        total = sum(counts.values())
        if n_episodes is not None and n_episodes != total:
            raise ValueError(f"n_episodes {n_episodes} differs from the mix's total {total}")
        n_episodes = total
    elif mix is not None:
        raise ValueError(f"mix applies to policy 'mixed', not {policy!r}")
    if n_episodes is None or n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    return n_episodes, counts


def collect_dataset(
    env_id: str,
    *,
    dataset_id: str,
    n_episodes: int | None = None,
    policy: PolicyKind = "expert",
    seed: int = 0,
    root: str | os.PathLike[str] | None = None,
    reference_episodes: int = 50,
    env_kwargs: dict[str, Any] | None = None,
    show_progress: bool = True,
    expert_model: str | os.PathLike[str] | None = None,
    epsilon: float | None = None,
    target_score: float | None = None,
    calibration_episodes: int = 15,
    calibration_evaluations: int = 6,
    mix: str | Mapping[str, int] | None = None,
    reference_dataset: str | os.PathLike[str] | None = None,
    verify_reference: bool = False,
    notes: Mapping[str, Any] | None = None,
) -> minari.MinariDataset:
    """Roll out ``policy`` for ``n_episodes`` (reset seeds ``seed .. seed + n - 1``) and save them.

    Args:
        env_id: gymnasium id with a built-in expert (see ``SUPPORTED_EXPERT_ENVS``).
        dataset_id: Minari id to create, e.g. ``"cartpole/expert-v0"``.
        n_episodes: number of episodes to record (>= 1); for ``mixed``, the mix's total.
        policy: ``"expert"`` (the built-in controller), ``"random"`` (uniform actions),
            ``"medium"`` (the expert taking a uniform random action with probability
            ``epsilon`` per step) or ``"mixed"`` (random, medium and expert episodes, shuffled).
        seed: first environment reset seed; also seeds the random and medium policies and the
            shuffle of a mixed dataset.
        root: Minari store to write into (default: ``$MINARI_DATASETS_PATH`` or ``~/.minari``).
        reference_episodes: episodes used for each of ``ref_min_score`` and ``ref_max_score``.
        env_kwargs: extra ``gymnasium.make`` arguments (e.g. ``continuous=True``).
        expert_model: a saved d3rlpy model (e.g. ``experts/Hopper-v5/best.d3`` from
            ``offline-iq train-expert``) to use as the expert instead of a built-in controller.
        epsilon: the medium policy's random-action probability, in [0, 1].
        target_score: without ``epsilon``, calibrate it so the medium policy's normalised score
            on the reference seeds is about this (default 0.5).
        calibration_episodes, calibration_evaluations: episodes per point and points of the
            bisection over epsilon.
        mix: ``mixed`` counts, ``"random=20,medium=20,expert=10"`` or a mapping.
        reference_dataset: expert dataset whose reference scores to reuse (logged policies
            default to ``<namespace>/expert-v0`` when it exists); its env, kwargs and expert must
            match.
        verify_reference: recompute the reused reference scores and fail if they differ.
        notes: extra JSON-serialisable entries for the ``offline_iq`` metadata.
    """
    n_episodes, counts = _check_arguments(
        policy, n_episodes, epsilon, target_score, mix, reference_episodes
    )
    logged = policy in ("medium", "mixed")
    kwargs = dict(env_kwargs or {})
    trained = None if expert_model is None else TrainedExpert(expert_model)
    if trained is not None:
        probe = gym.make(env_id, **kwargs)
        try:
            trained.check_env(probe)
        finally:
            probe.close()

    def new_expert() -> ExpertPolicy:
        return trained if trained is not None else make_expert(env_id, **kwargs)

    expert = new_expert()  # fails early, naming supported envs
    seeds = list(range(seed, seed + n_episodes))
    if logged:
        reserved = reserved_seed_ranges(env_id, kwargs, exclude=dataset_id, root=root)
        check_seeds_disjoint(seeds, reserved)
        namespace = dataset_id.rpartition("/")[0]
        if reference_dataset is None and namespace:
            sibling = f"{namespace}/expert-v0"
            with contextlib.suppress(Exception):
                _find_data_path(sibling, root)
                reference_dataset = sibling
    reference: dict[str, Any] = {
        "reference_dataset": None,
        "reference_seeds": [REFERENCE_SEED, REFERENCE_SEED + reference_episodes - 1],
        "reference_episodes": reference_episodes,
    }
    if reference_dataset is not None:
        ref_min, ref_max, reference = _shipped_reference(
            reference_dataset, root, env_id, kwargs, expert.name
        )
        if verify_reference:
            computed = _reference_scores(env_id, expert, reference["reference_episodes"], kwargs)
            if not np.allclose(computed, (ref_min, ref_max), rtol=1e-6, atol=1e-6):
                raise ValueError(
                    f"reference scores of {reference_dataset} (min {ref_min}, max {ref_max}) "
                    f"differ from their recomputation (min {computed[0]}, max {computed[1]})"
                )
        reference["reference_verified"] = verify_reference
    else:
        ref_min, ref_max = _reference_scores(env_id, expert, reference_episodes, kwargs)
    calibration: Calibration | None = None
    wants_medium = policy == "medium" or (counts is not None and counts["medium"] > 0)
    if logged and epsilon is None and wants_medium:
        calibration = calibrate_epsilon(
            env_id,
            new_expert,
            ref_min,
            ref_max,
            seed=REFERENCE_SEED,
            target_score=DEFAULT_TARGET_SCORE if target_score is None else target_score,
            episodes=calibration_episodes,
            evaluations=calibration_evaluations,
            env_kwargs=kwargs,
        )
        epsilon = calibration.epsilon
    with minari_store(root):
        env = minari.DataCollector(gym.make(env_id, **kwargs), record_infos=False)
        space = env.action_space
        # fresh built-in controllers, so their random streams do not depend on the references
        sources: list[str] = [str(policy)] * n_episodes
        actors: dict[str, Callable[[], ExpertPolicy]] = {
            "expert": new_expert,
            "random": lambda: make_random_policy(space, seed),
            "medium": lambda: MediumPolicy(new_expert(), space, epsilon or 0.0, seed),
        }
        if counts is not None:
            pool = [name for name, count in counts.items() for _ in range(count)]
            sources = [pool[i] for i in np.random.default_rng(seed).permutation(len(pool))]
            actors["medium"] = lambda: MediumPolicy(new_expert(), space, epsilon or 0.0, seed + 1)
        made = {name: actors[name]() for name in dict.fromkeys(sources)}
        plan = [(made[name], s) for name, s in zip(sources, seeds, strict=True)]
        returns = _record(env, plan, f"collect {dataset_id}", show_progress)
        actor = made[sources[0]] if counts is None else expert
        name = actor.name if counts is None else f"mixed-random-medium-{expert.name}"
        mean_return = float(np.mean(returns))
        if counts is None:
            what = f"by {name}: {actor.description}"
        else:
            what = (
                f"unlabelled mix of {counts['random']} random, {counts['medium']} medium "
                f"(epsilon {epsilon or 0.0:g}) and {counts['expert']} expert ({expert.name}) "
                "episodes in shuffled order (sources in the 'offline_iq' metadata)."
            )
        dataset = env.create_dataset(
            dataset_id=dataset_id,
            algorithm_name=name,
            description=(
                f"{n_episodes} episodes of {env_id} {kwargs or ''} {what} "
                f"Mean return {mean_return:.1f} +- {np.std(returns):.1f}."
            ),
            ref_min_score=ref_min,
            ref_max_score=ref_max,
            eval_env=env_id if not kwargs else gym.make(env_id, **kwargs).spec,
        )
        provenance: dict[str, Any] = {
            "policy": policy,
            "controller": actor.name,
            "controller_description": actor.description,
            "env_id": env_id,
            "env_kwargs": kwargs,
            "episode_seeds": [seeds[0], seeds[-1]],
            **reference,
            "mean_return": mean_return,
            "std_return": float(np.std(returns)),
        }
        if logged:
            provenance["normalised_score"] = normalised_score(mean_return, ref_min, ref_max)
            provenance["expert_controller"] = expert.name
            provenance["epsilon"] = epsilon if wants_medium else None
            provenance["calibration"] = None if calibration is None else calibration.as_metadata()
        if counts is not None:
            provenance["mix"] = counts
            provenance["shuffle_seed"] = seed
            provenance["episodes"] = [
                {"source": source, "seed": s, "return": r}
                for source, s, r in zip(sources, seeds, returns, strict=True)
            ]
            by_source = np.asarray(sources)
            provenance["source_mean_return"] = {
                source: float(np.mean(np.asarray(returns)[by_source == source]))
                for source, count in counts.items()
                if count
            }
        provenance.update(notes or {})
        dataset.storage.update_metadata({"offline_iq": json.dumps(provenance)})
        env.close()
    return dataset
