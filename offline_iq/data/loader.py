"""``load_minari``: any Minari dataset as exactly aligned d3rlpy training data.

It reads only the selected episodes, one at a time (each episode's raw arrays are dropped once
converted to float32), stacks them with one concatenation per field and builds everything else
by index arithmetic: a million transitions load in about the time a plain h5py read of the same
arrays takes, with a peak under twice their size (``benchmarks/load_scale.py``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from offline_iq.data.buffer import DatasetMetadata, ExpertReplayBuffer, TransitionArrays
from offline_iq.data.episodes import FlatEpisodes, MinariEpisodeArrays, check_minari_episode
from offline_iq.data.errors import DatasetFormatError
from offline_iq.data.sources import open_minari, read_episodes, resolve_data_path
from offline_iq.data.spaces import action_kind, check_observation_space
from offline_iq.data.subset import (
    SubsetSpec,
    check_episode_pool,
    check_subset_args,
    draw_offsets,
    select_episodes,
    subsample_flat,
)

__all__ = ["load_minari"]


def load_minari(
    dataset: str | os.PathLike[str],
    *,
    n_trajectories: int | None = None,
    subsample: int = 1,
    seed: int = 0,
    download: bool = False,
    episodes: Sequence[int] | None = None,
) -> ExpertReplayBuffer:
    """Load a Minari dataset as a d3rlpy replay buffer of aligned transitions.

    Args:
        dataset: a Minari id (local store, then the shipped ``datasets/``, then the remote server
            when ``download``) or a path to a dataset folder.
        n_trajectories: keep this many episodes, chosen by a permutation seeded with ``seed``
            (default: all, in dataset order).
        subsample: keep every ``subsample``-th transition of each kept episode, from a seeded
            random offset (the paper's protocol; 1 keeps everything).
        seed: seed of the subset draw.
        download: allow fetching ``dataset`` from Minari's server.
        episodes: positions (0-based, in dataset order) of the episodes ``n_trajectories`` are
            drawn from (default: every episode); the benchmark keeps its tuning and evaluation
            trajectories apart with it.

    Transition ``t`` of an episode is ``(o_t, a_t, r_t, o_{t+1}, terminated_t)``; truncations are
    never terminal and the last transition of a truncated episode is kept.

    Raises:
        DatasetNotFoundError: unknown id or a path that is not a Minari dataset.
        DatasetFormatError: unsupported spaces, NaN/inf values, empty or corrupt data.
        ValueError: ``n_trajectories`` or ``subsample`` out of range.
    """
    data_path = resolve_data_path(dataset, download=download)
    source = open_minari(data_path)
    check_observation_space(source.observation_space)
    action_kind(source.action_space)
    n_episodes = source.total_episodes
    if n_episodes == 0:
        raise DatasetFormatError(f"dataset {source.id} at {data_path} has no episodes")
    pool = check_episode_pool(episodes, n_episodes)
    check_subset_args(len(pool) if pool is not None else n_episodes, n_trajectories, subsample)
    positions = select_episodes(n_episodes, n_trajectories, seed, pool=pool)
    indices = source.episode_indices
    parts = _read_episodes(source, [indices[p] for p in positions])
    full = FlatEpisodes.from_minari(parts)
    del parts  # the stacked rows replace the per-episode arrays
    statistics = (full.observations.mean(axis=0), full.observations.std(axis=0))
    offsets = draw_offsets(full.episode_lengths.tolist(), subsample, seed)
    kept = subsample_flat(full, subsample, offsets)
    del full
    subset = SubsetSpec(
        episode_positions=positions, offsets=offsets, subsample=int(subsample), seed=int(seed)
    )
    raw_meta: dict[str, Any] = dict(source.storage.metadata)
    metadata = DatasetMetadata(
        dataset_id=source.id,
        data_path=str(data_path),
        env_spec=source.env_spec,
        eval_env_spec=getattr(source, "_eval_env_spec", None),
        observation_space=source.observation_space,
        action_space=source.action_space,
        ref_min_score=_optional_float(raw_meta.get("ref_min_score")),
        ref_max_score=_optional_float(raw_meta.get("ref_max_score")),
        source_episodes=n_episodes,
        source_steps=int(source.total_steps),
        subset=subset,
        minari_metadata=raw_meta,
    )
    transitions = TransitionArrays(
        observations=kept.observations,
        actions=kept.actions,
        rewards=kept.rewards,
        next_observations=kept.next_observations,
        next_actions=kept.next_actions(),
        terminals=kept.terminals,
        episode_ids=np.repeat(kept.episode_ids, kept.sizes),
        timesteps=kept.timesteps,
    )
    return ExpertReplayBuffer(
        kept.episodes(), metadata, observation_statistics=statistics, transitions=transitions
    )


def _read_episodes(source: Any, episode_indices: list[int]) -> list[MinariEpisodeArrays]:
    """Read and check the given episodes one at a time (only those are read from disk).

    Each episode's raw arrays are dropped once converted. A read error anywhere wins over a
    format error in an earlier episode, as when every episode was read before any was checked.
    """
    space, action_space = source.observation_space, source.action_space
    parts: list[MinariEpisodeArrays] = []
    failure: Exception | None = None
    episodes = read_episodes(source, episode_indices)
    while True:
        try:
            raw = next(episodes)
        except StopIteration:
            break
        except (OSError, KeyError) as err:
            raise DatasetFormatError(f"cannot read episodes of {source.id}: {err}") from err
        if failure is not None:
            continue  # keep reading: a later read error is reported first
        try:
            parts.append(check_minari_episode(raw, space, action_space))
        except Exception as err:
            failure = err
            parts.clear()
    if failure is not None:
        raise failure
    return parts


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    out = float(value)
    if not np.isfinite(out):
        return None
    return out


@functools.lru_cache(maxsize=64)
def source_termination_fraction(data_path: str) -> float | None:
    """The fraction of the episodes of the Minari dataset at ``data_path`` that end by
    termination (not truncation), over every episode, read once per path; ``None`` if the
    dataset cannot be read there any more."""
    try:
        source = open_minari(Path(data_path))
        hdf5 = Path(data_path) / "main_data.hdf5"
        if hdf5.is_file():  # read one flag per episode, not whole episodes
            with h5py.File(hdf5, "r") as f:
                ends = [bool(f[f"episode_{i}"]["terminations"][-1])
                        for i in source.episode_indices]  # fmt: skip
        else:
            ends = [bool(e["terminations"][-1]) for e in source.storage.get_episodes(
                source.episode_indices)]  # fmt: skip
    except (DatasetFormatError, OSError, KeyError, ValueError, IndexError):
        return None
    return sum(ends) / len(ends) if ends else None
