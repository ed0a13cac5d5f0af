"""Episodes as explicit transitions, and the one place Minari's T+1 layout is converted.

Minari stores an episode as T+1 observations and T actions, rewards, terminations and
truncations. Transition ``t`` is ``(o_t, a_t, r_t, o_{t+1}, terminated_t)``: a truncation (time
limit) never marks a transition terminal, and the last transition of a truncated episode keeps
its true next observation. :class:`TransitionEpisode` stores ``next_observations`` explicitly so
that this stays true after sub-sampling, and implements d3rlpy's ``EpisodeBase`` so a d3rlpy
``ReplayBuffer`` can hold it (``transition_count == size() == T``, unlike d3rlpy's ``Episode``,
which drops the last transition of every episode that did not terminate).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from d3rlpy.dataset import Signature, Transition

from offline_iq.data.errors import DatasetFormatError
from offline_iq.data.spaces import actions_to_array, observations_to_array

__all__ = ["TransitionEpisode", "TransitionEpisodePicker", "episode_from_minari"]


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


def episode_from_minari(
    episode: Any, observation_space: Any, action_space: Any
) -> TransitionEpisode:
    """Convert one Minari ``EpisodeData`` into a checked :class:`TransitionEpisode`."""
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
