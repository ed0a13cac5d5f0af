"""The paper's expert-subset protocol: a seeded choice of trajectories, then sub-sampling.

IQ-Learn's experiments (Garg et al., 2021, sec. 6) train on ``n`` expert trajectories, keeping
every ``k``-th transition of each, starting at a random offset. Both draws come from one
seed: a permutation of the episodes (the first ``n`` are kept) and, from an independent stream of
the same seed, one offset per kept episode, uniform in ``[0, min(k, T))`` so that every kept
episode keeps at least one transition.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from offline_iq.data.episodes import FlatEpisodes, TransitionEpisode

__all__ = [
    "SubsetSpec",
    "check_episode_pool",
    "check_subset_args",
    "draw_offsets",
    "select_episodes",
    "subsample_episode",
    "subsample_flat",
    "subsample_rows",
]


@dataclasses.dataclass(frozen=True)
class SubsetSpec:
    """Which episodes were kept and how they were thinned (recorded in the dataset metadata)."""

    episode_positions: tuple[int, ...]  # positions in the source dataset, in selection order
    offsets: tuple[int, ...]  # sub-sampling offset of each kept episode
    subsample: int
    seed: int


def check_subset_args(n_available: int, n_trajectories: int | None, subsample: int) -> None:
    """Raise ``ValueError``/``TypeError`` naming the bad argument."""
    for name, value in (("subsample", subsample), ("n_trajectories", n_trajectories)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | np.integer)
        ):
            raise TypeError(f"{name} must be an integer, got {value!r}")
    if subsample < 1:
        raise ValueError(f"subsample must be >= 1 (keep every k-th transition), got {subsample}")
    if n_trajectories is not None:
        if n_trajectories < 1:
            raise ValueError(f"n_trajectories must be >= 1, got {n_trajectories}")
        if n_trajectories > n_available:
            raise ValueError(
                f"n_trajectories={n_trajectories} but the dataset has only {n_available} episodes"
            )


def check_episode_pool(episodes: Sequence[int] | None, n_available: int) -> tuple[int, ...] | None:
    """``episodes`` as a tuple of distinct positions in ``[0, n_available)`` (``None`` stays)."""
    if episodes is None:
        return None
    pool = tuple(episodes)
    if not pool:
        raise ValueError("episodes is empty: give at least one episode position")
    for p in pool:
        if isinstance(p, bool) or not isinstance(p, int | np.integer):
            raise TypeError(f"episode positions must be integers, got {p!r}")
        if not 0 <= p < n_available:
            raise ValueError(f"episode position {p} out of range: the dataset has {n_available}")
    if len(set(pool)) != len(pool):
        raise ValueError(f"episode positions repeat: {list(pool)}")
    return tuple(int(p) for p in pool)


def select_episodes(
    n_available: int,
    n_trajectories: int | None,
    seed: int,
    *,
    pool: tuple[int, ...] | None = None,
) -> tuple[int, ...]:
    """Positions of the kept episodes: all in order, or the first ``n`` of a seeded permutation.

    With ``pool`` the episodes come from those positions only (the permutation is of the pool).
    """
    candidates = pool if pool is not None else tuple(range(n_available))
    if n_trajectories is None:
        return candidates
    permutation = np.random.default_rng(seed).permutation(len(candidates))
    return tuple(candidates[int(p)] for p in permutation[:n_trajectories])


def draw_offsets(episode_lengths: list[int], subsample: int, seed: int) -> tuple[int, ...]:
    """One sub-sampling offset per kept episode, uniform in ``[0, min(k, T))``."""
    if subsample == 1:
        return tuple(0 for _ in episode_lengths)
    rng = np.random.default_rng([seed, _OFFSET_STREAM])
    return tuple(int(rng.integers(0, min(subsample, length))) for length in episode_lengths)


_OFFSET_STREAM = 1  # a second, independent stream of the same seed


def subsample_episode(episode: TransitionEpisode, subsample: int, offset: int) -> TransitionEpisode:
    """Keep transitions ``offset, offset + k, offset + 2k, ...`` with their own next states."""
    if subsample == 1 and offset == 0:
        return episode
    keep = slice(offset, None, subsample)
    return dataclasses.replace(
        episode,
        observations=episode.observations[keep],
        actions=episode.actions[keep],
        rewards=episode.rewards[keep],
        next_observations=episode.next_observations[keep],
        terminals=episode.terminals[keep],
        timesteps=episode.timesteps[keep],
    )


def subsample_rows(
    bounds: np.ndarray, subsample: int, offsets: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows kept from episodes stacked at ``bounds``: ``offset, offset + k, ...`` of each.

    Episode ``e`` holds rows ``bounds[e]:bounds[e + 1]``; the kept rows are, in order, those
    :func:`subsample_episode` keeps (the slice ``offset::k`` of each episode), found by index
    arithmetic rather than one slice per episode. Returns ``(rows, new_bounds)``.
    """
    k = int(subsample)
    starts = np.asarray(bounds[:-1], dtype=np.int64)
    sizes = np.asarray(bounds[1:], dtype=np.int64) - starts
    shift = np.asarray(offsets, dtype=np.int64).reshape(-1)
    counts = (np.maximum(sizes - shift, 0) + k - 1) // k
    new_bounds = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=new_bounds[1:])
    # row m of the result, j-th kept of episode e: starts[e] + shift[e] + j * k with
    # j = m - new_bounds[e], i.e. m * k + (starts[e] + shift[e] - new_bounds[e] * k)
    base = starts + shift - new_bounds[:-1] * k
    rows = np.arange(int(new_bounds[-1]), dtype=np.int64) * k + np.repeat(base, counts)
    return rows, new_bounds


def subsample_flat(flat: FlatEpisodes, subsample: int, offsets: Sequence[int]) -> FlatEpisodes:
    """:func:`subsample_episode` applied to every episode of ``flat`` at once."""
    if subsample == 1 and not any(offsets):
        return flat
    rows, bounds = subsample_rows(flat.bounds, subsample, offsets)
    return dataclasses.replace(
        flat,
        observations=flat.observations[rows],
        actions=flat.actions[rows],
        rewards=flat.rewards[rows],
        next_observations=flat.next_observations[rows],
        terminals=flat.terminals[rows],
        timesteps=flat.timesteps[rows],
        bounds=bounds,
    )
