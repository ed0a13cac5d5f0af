"""Episodes as explicit transitions, and the one place Minari's T+1 layout is converted.

Minari stores an episode as T+1 observations and T actions, rewards, terminations and
truncations. Transition ``t`` is ``(o_t, a_t, r_t, o_{t+1}, terminated_t)``: a truncation (time
limit) never marks a transition terminal, and the last transition of a truncated episode keeps
its true next observation. :class:`TransitionEpisode` stores ``next_observations`` explicitly so
that this stays true after sub-sampling, and implements d3rlpy's ``EpisodeBase`` so a d3rlpy
``ReplayBuffer`` can hold it (``transition_count == size() == T``, unlike d3rlpy's ``Episode``,
which drops the last transition of every episode that did not terminate).

At scale the loader never works per transition: :func:`check_minari_episode` checks and converts
each episode's arrays, :class:`FlatEpisodes` stacks them row-wise (one concatenation per field),
:func:`next_actions` finds every ``a'`` by index arithmetic, the episodes are views of the
stacked rows, and :class:`EpisodeTransitionBuffer` answers d3rlpy's ``buffer[i]`` by a binary
search instead of holding one ``(episode, index)`` tuple per transition.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from d3rlpy.dataset import BufferProtocol, EpisodeBase, Signature, Transition

from offline_iq.data.errors import DatasetFormatError
from offline_iq.data.spaces import actions_to_array, observations_to_array

__all__ = [
    "EpisodeTransitionBuffer",
    "FlatEpisodes",
    "MinariEpisodeArrays",
    "TransitionEpisode",
    "TransitionEpisodePicker",
    "check_minari_episode",
    "episode_from_minari",
    "next_actions",
]


@dataclasses.dataclass(frozen=True)
class TransitionEpisode:
    """One episode (or a sub-sampled part of one) as T aligned transitions.

    Attributes:
        observations: ``(T, *obs_shape)`` float32, ``o_t``.
        actions: ``(T, 1)`` float32 action indices (discrete) or ``(T, d)`` float32 (continuous).
        rewards: ``(T, 1)`` float32, ``r_t``.
        next_observations: ``(T, *obs_shape)`` float32, the true ``o_{t+1}`` (also at the end).
        terminals: ``(T, 1)`` float32, 1 only where the environment terminated at step ``t``.
        timesteps: ``(T,)`` int64, index ``t`` of each transition in the Minari episode.
        initial_observation: ``o_0`` of the Minari episode (kept even if sub-sampling drops t=0).
        episode_id: the Minari episode id.
        terminated: whether the Minari episode ended by termination (not by truncation).
        episode_length: T of the full Minari episode before sub-sampling.
        episode_return: undiscounted return of the full Minari episode.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminals: np.ndarray
    timesteps: np.ndarray
    initial_observation: np.ndarray
    episode_id: int
    terminated: bool
    episode_length: int
    episode_return: float

    def __post_init__(self) -> None:
        n = self.observations.shape[0]
        for name in ("actions", "rewards", "next_observations", "terminals", "timesteps"):
            length = getattr(self, name).shape[0]
            if length != n:
                raise DatasetFormatError(
                    f"episode {self.episode_id}: {name} has {length} rows but observations has {n}"
                )
        if self.next_observations.shape[1:] != self.observations.shape[1:]:
            raise DatasetFormatError(
                f"episode {self.episode_id}: next_observations shape "
                f"{self.next_observations.shape} does not match {self.observations.shape}"
            )

    # d3rlpy EpisodeBase protocol -------------------------------------------------------------
    @property
    def observation_signature(self) -> Signature:
        """d3rlpy signature (dtype and per-row shape) of the observations."""
        return Signature(dtype=[self.observations.dtype], shape=[self.observations.shape[1:]])

    @property
    def action_signature(self) -> Signature:
        """d3rlpy signature (dtype and per-row shape) of the actions."""
        return Signature(dtype=[self.actions.dtype], shape=[self.actions.shape[1:]])

    @property
    def reward_signature(self) -> Signature:
        """d3rlpy signature (dtype and per-row shape) of the rewards."""
        return Signature(dtype=[self.rewards.dtype], shape=[self.rewards.shape[1:]])

    def size(self) -> int:
        """Number of transitions held."""
        return int(self.observations.shape[0])

    @property
    def transition_count(self) -> int:
        """Every held transition is usable, the last one of a truncated episode included."""
        return self.size()

    def compute_return(self) -> float:
        """Return of the full Minari episode (sub-sampling does not change it)."""
        return self.episode_return

    def serialize(self) -> dict[str, Any]:
        """Return every dataclass field by name (the arrays are not copied)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def deserialize(cls, serialized_data: dict[str, Any]) -> TransitionEpisode:
        """Rebuild an episode from :meth:`serialize` output, restoring the scalar field types."""
        data = dict(serialized_data)
        for key in ("episode_id", "episode_length"):
            data[key] = int(data[key])
        data["terminated"] = bool(data["terminated"])
        data["episode_return"] = float(data["episode_return"])
        return cls(**data)


class TransitionEpisodePicker:
    """d3rlpy transition picker for :class:`TransitionEpisode` (uses the stored next state)."""

    def __call__(self, episode: Any, index: int) -> Transition:
        assert isinstance(episode, TransitionEpisode)
        if not 0 <= index < episode.size():
            raise IndexError(f"transition {index} outside episode of {episode.size()}")
        contiguous = (
            index + 1 < episode.size()
            and episode.timesteps[index + 1] == episode.timesteps[index] + 1
        )
        next_action = (
            episode.actions[index + 1] if contiguous else np.zeros_like(episode.actions[index])
        )
        return Transition(
            observation=episode.observations[index],
            action=episode.actions[index],
            reward=episode.rewards[index],
            next_observation=episode.next_observations[index],
            next_action=next_action,
            terminal=float(episode.terminals[index, 0]),
            interval=1,
            rewards_to_go=episode.rewards[index:],
        )


class EpisodeTransitionBuffer(BufferProtocol):
    """d3rlpy's transition index over fixed episodes, without one Python tuple per transition.

    Answers ``buffer[i]`` with ``(episode, index in episode)`` exactly as d3rlpy's
    ``InfiniteBuffer`` would after ``append_episode`` of each episode in turn (an episode with no
    transitions is left out of :attr:`episodes`), by a binary search over episode boundaries. It
    holds a fixed dataset: :meth:`append` raises ``TypeError``.
    """

    def __init__(self, episodes: Sequence[EpisodeBase]) -> None:
        self._appended = [ep for ep in episodes if ep.transition_count > 0]
        self._ends = np.cumsum([ep.transition_count for ep in self._appended], dtype=np.int64)
        self._episodes: list[EpisodeBase] = []
        for episode in self._appended:  # InfiniteBuffer lists an episode once per run of appends
            if not self._episodes or episode is not self._episodes[-1]:
                self._episodes.append(episode)

    def append(self, episode: EpisodeBase, index: int) -> None:
        """Raise ``TypeError``: the transitions are fixed when the buffer is built."""
        raise TypeError("EpisodeTransitionBuffer holds fixed episodes; nothing can be appended")

    @property
    def episodes(self) -> Sequence[EpisodeBase]:
        """The episodes, in order."""
        return self._episodes

    @property
    def transition_count(self) -> int:
        """Number of transitions of all episodes."""
        return int(self._ends[-1]) if len(self._ends) else 0

    def __len__(self) -> int:
        return self.transition_count

    def __getitem__(self, index: int) -> tuple[EpisodeBase, int]:
        position = operator.index(index)
        total = self.transition_count
        if position < 0:
            position += total
        if not 0 <= position < total:
            raise IndexError(f"transition {index} outside a buffer of {total}")
        k = int(np.searchsorted(self._ends, position, side="right"))
        start = int(self._ends[k - 1]) if k else 0
        return self._appended[k], position - start


def next_actions(actions: np.ndarray, timesteps: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """``a'`` of every row as :class:`TransitionEpisodePicker` gives it, in one vectorised pass.

    Row ``i`` gets ``actions[i + 1]`` where row ``i + 1`` belongs to the same episode (episode
    ``e`` holds rows ``bounds[e]:bounds[e + 1]``) and is the next step (``timesteps`` differ by
    one), and zeros elsewhere (the last row of an episode, and every row of a sub-sampled one).
    Returns float32.
    """
    out = np.zeros(actions.shape, dtype=np.float32)
    n = actions.shape[0]
    if n < 2:
        return out
    follows = timesteps[1:] == timesteps[:-1] + 1
    inner = np.asarray(bounds[1:-1], dtype=np.int64)
    inner = inner[(inner > 0) & (inner < n)]
    follows[inner - 1] = False  # row inner - 1 ends an episode; row inner starts the next
    mask = follows.reshape((n - 1,) + (1,) * (actions.ndim - 1))
    np.copyto(out[:-1], actions[1:], casting="unsafe", where=mask)
    return out


class MinariEpisodeArrays(NamedTuple):
    """One checked Minari episode in Minari's own T+1 layout (float32 observations and actions)."""

    episode_id: int
    observations: np.ndarray  # (T + 1, *obs_shape) float32
    actions: np.ndarray  # (T, action_dim) float32
    rewards: np.ndarray  # (T,) float64
    terminations: np.ndarray  # (T,) bool


def check_minari_episode(
    episode: Any, observation_space: Any, action_space: Any
) -> MinariEpisodeArrays:
    """Convert one Minari ``EpisodeData`` to float32 arrays, refusing malformed data.

    Raises:
        DatasetFormatError: an empty episode, lengths that do not match the T+1 layout, a
            termination before the last step, NaN or inf values.
    """
    eid = int(episode.id)
    rewards = np.asarray(episode.rewards, dtype=np.float64).reshape(-1)
    terminations = np.asarray(episode.terminations, dtype=bool).reshape(-1)
    truncations = np.asarray(episode.truncations, dtype=bool).reshape(-1)
    n_steps = rewards.shape[0]
    if n_steps == 0:
        raise DatasetFormatError(f"episode {eid} is empty (0 steps)")
    all_obs = observations_to_array(observation_space, episode.observations)
    actions = actions_to_array(action_space, episode.actions)
    if all_obs.shape[0] != n_steps + 1:
        raise DatasetFormatError(
            f"episode {eid}: {all_obs.shape[0]} observations for {n_steps} steps; Minari stores "
            "T+1 observations for T steps"
        )
    for name, length in (
        ("actions", actions.shape[0]),
        ("terminations", terminations.shape[0]),
        ("truncations", truncations.shape[0]),
    ):
        if length != n_steps:
            raise DatasetFormatError(f"episode {eid}: {length} {name} for {n_steps} rewards")
    if np.any(terminations[:-1]):
        first = int(np.flatnonzero(terminations[:-1])[0])
        raise DatasetFormatError(
            f"episode {eid} terminates at step {first} but continues to step {n_steps - 1}"
        )
    for name, values in (("observations", all_obs), ("actions", actions), ("rewards", rewards)):
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise DatasetFormatError(
                f"episode {eid}: {name} contain NaN or inf ({int(bad.sum())} values, first at "
                f"step {row})"
            )
    return MinariEpisodeArrays(eid, all_obs, actions, rewards, terminations)


def episode_from_minari(
    episode: Any, observation_space: Any, action_space: Any
) -> TransitionEpisode:
    """Convert one Minari ``EpisodeData`` into a checked :class:`TransitionEpisode`."""
    eid, all_obs, actions, rewards, terminations = check_minari_episode(
        episode, observation_space, action_space
    )
    n_steps = rewards.shape[0]
    return TransitionEpisode(
        observations=all_obs[:-1],
        actions=actions,
        rewards=rewards.astype(np.float32).reshape(-1, 1),
        next_observations=all_obs[1:],
        terminals=terminations.astype(np.float32).reshape(-1, 1),
        timesteps=np.arange(n_steps, dtype=np.int64),
        initial_observation=all_obs[0],
        episode_id=eid,
        terminated=bool(terminations[-1]),
        episode_length=n_steps,
        episode_return=float(rewards.sum()),
    )


@dataclasses.dataclass(frozen=True)
class FlatEpisodes:
    """Episodes stacked row-wise: episode ``e`` holds rows ``bounds[e]:bounds[e + 1]``.

    The row arrays are those of :class:`TransitionEpisode`, concatenated; the per-episode arrays
    hold its scalar fields. :meth:`episodes` returns :class:`TransitionEpisode` views into the
    row arrays (no copies).
    """

    observations: np.ndarray  # (N, *obs_shape) float32
    actions: np.ndarray  # (N, action_dim) float32
    rewards: np.ndarray  # (N, 1) float32
    next_observations: np.ndarray  # (N, *obs_shape) float32
    terminals: np.ndarray  # (N, 1) float32
    timesteps: np.ndarray  # (N,) int64
    bounds: np.ndarray  # (E + 1,) int64, row boundaries
    initial_observations: np.ndarray  # (E, *obs_shape) float32
    episode_ids: np.ndarray  # (E,) int64
    terminated: np.ndarray  # (E,) bool
    episode_lengths: np.ndarray  # (E,) int64, T of the full Minari episode
    episode_returns: np.ndarray  # (E,) float64, undiscounted return of the full episode

    @classmethod
    def from_minari(cls, parts: Sequence[MinariEpisodeArrays]) -> FlatEpisodes:
        """Stack checked Minari episodes, every transition of each (T+1 observations -> T rows)."""
        lengths = np.array([p.rewards.shape[0] for p in parts], dtype=np.int64)
        bounds = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=bounds[1:])
        starts = np.repeat(bounds[:-1], lengths)
        rewards = np.concatenate([p.rewards for p in parts])
        return cls(
            observations=np.concatenate([p.observations[:-1] for p in parts]),
            actions=np.concatenate([p.actions for p in parts]),
            rewards=rewards.astype(np.float32).reshape(-1, 1),
            next_observations=np.concatenate([p.observations[1:] for p in parts]),
            terminals=np.concatenate([p.terminations for p in parts])
            .astype(np.float32)
            .reshape(-1, 1),
            timesteps=np.arange(int(bounds[-1]), dtype=np.int64) - starts,
            bounds=bounds,
            initial_observations=np.stack([p.observations[0] for p in parts]),
            episode_ids=np.array([p.episode_id for p in parts], dtype=np.int64),
            terminated=np.array([bool(p.terminations[-1]) for p in parts], dtype=bool),
            episode_lengths=lengths,
            episode_returns=np.array([float(p.rewards.sum()) for p in parts], dtype=np.float64),
        )

    def __len__(self) -> int:
        return int(self.observations.shape[0])

    @property
    def sizes(self) -> np.ndarray:
        """Rows held by each episode, ``(E,)``."""
        return np.diff(self.bounds)

    def episodes(self) -> list[TransitionEpisode]:
        """One :class:`TransitionEpisode` per episode, its arrays views of the row arrays."""
        bounds = self.bounds.tolist()
        out = []
        for e in range(len(bounds) - 1):
            rows = slice(bounds[e], bounds[e + 1])
            out.append(
                TransitionEpisode(
                    observations=self.observations[rows],
                    actions=self.actions[rows],
                    rewards=self.rewards[rows],
                    next_observations=self.next_observations[rows],
                    terminals=self.terminals[rows],
                    timesteps=self.timesteps[rows],
                    initial_observation=self.initial_observations[e],
                    episode_id=int(self.episode_ids[e]),
                    terminated=bool(self.terminated[e]),
                    episode_length=int(self.episode_lengths[e]),
                    episode_return=float(self.episode_returns[e]),
                )
            )
        return out

    def next_actions(self) -> np.ndarray:
        """``a'`` of every row (zeros where it is not in the data), see :func:`next_actions`."""
        return next_actions(self.actions, self.timesteps, self.bounds)
