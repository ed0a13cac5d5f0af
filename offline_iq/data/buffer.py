"""A d3rlpy ``ReplayBuffer`` over a fixed Minari dataset, with a vectorised sampler.

d3rlpy's own sampler builds a batch one transition at a time in Python (~3 ms for 256 here,
about 40% of a small-MLP training step). :class:`ExpertReplayBuffer` keeps every transition in
pre-flattened arrays and samples a batch with one fancy-indexing pass per field; it draws indices
from numpy's global generator, so ``d3rlpy.seed(s)`` makes sampling reproducible as it does for
d3rlpy's buffers.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from d3rlpy.constants import ActionSpace
from d3rlpy.dataset import ReplayBuffer, TransitionMiniBatch
from d3rlpy.preprocessing import StandardObservationScaler

from offline_iq.data.episodes import (
    EpisodeTransitionBuffer,
    TransitionEpisode,
    TransitionEpisodePicker,
    next_actions,
)
from offline_iq.data.errors import DatasetFormatError
from offline_iq.data.subset import SubsetSpec

__all__ = [
    "CONSTANT_STD",
    "DatasetMetadata",
    "ExpertReplayBuffer",
    "IndexedTransitionMiniBatch",
    "TransitionArrays",
    "unit_scale_for_constants",
]


@dataclasses.dataclass(frozen=True)
class DatasetMetadata:
    """Where the data came from and how to evaluate on it.

    ``ref_min_score`` / ``ref_max_score`` are Minari's reference returns (random / expert), used
    by :meth:`normalize_score`; ``subset`` records the expert-subset draw.
    """

    dataset_id: str
    data_path: str
    env_spec: gym.envs.registration.EnvSpec | None
    eval_env_spec: gym.envs.registration.EnvSpec | None
    observation_space: gym.Space[Any]
    action_space: gym.Space[Any]
    ref_min_score: float | None
    ref_max_score: float | None
    source_episodes: int
    source_steps: int
    subset: SubsetSpec
    minari_metadata: dict[str, Any]

    def normalize_score(self, episode_return: float | np.ndarray) -> float | np.ndarray:
        """Minari's normalised score ``(R - ref_min) / (ref_max - ref_min)`` (1.0 is expert)."""
        if self.ref_min_score is None or self.ref_max_score is None:
            raise ValueError(f"dataset {self.dataset_id} has no reference scores")
        span = self.ref_max_score - self.ref_min_score
        return (episode_return - self.ref_min_score) / span

    def make_env(self, eval_env: bool = False, **kwargs: Any) -> gym.Env[Any, Any]:
        """Recreate the dataset's environment (its eval spec when ``eval_env`` and one exists)."""
        spec = self.eval_env_spec if eval_env and self.eval_env_spec else self.env_spec
        if spec is None:
            raise ValueError(f"dataset {self.dataset_id} records no environment spec")
        return gym.make(spec, **kwargs)


@dataclasses.dataclass(frozen=True)
class TransitionArrays:
    """All transitions of a dataset, row-aligned: row ``i`` is one ``(s, a, r, s', done)``."""

    observations: np.ndarray  # (N, *obs_shape) float32
    actions: np.ndarray  # (N, action_dim) float32
    rewards: np.ndarray  # (N, 1) float32
    next_observations: np.ndarray  # (N, *obs_shape) float32
    next_actions: np.ndarray  # (N, action_dim) float32, zeros where a' is not in the data
    terminals: np.ndarray  # (N, 1) float32
    episode_ids: np.ndarray  # (N,) int64, Minari episode id of each row
    timesteps: np.ndarray  # (N,) int64, step index within its episode

    @classmethod
    def from_episodes(cls, episodes: Sequence[TransitionEpisode]) -> TransitionArrays:
        """Stack the transitions of ``episodes`` in order (``a'`` zero where not in the data).

        ``a'`` of row ``i`` is the action of row ``i + 1`` when that row is the next step of the
        same episode, as :class:`TransitionEpisodePicker` gives it (vectorised).
        """
        sizes = [ep.size() for ep in episodes]
        bounds = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=bounds[1:])
        actions = np.concatenate([ep.actions for ep in episodes])
        timesteps = np.concatenate([ep.timesteps for ep in episodes])
        return cls(
            observations=np.concatenate([ep.observations for ep in episodes]),
            actions=actions,
            rewards=np.concatenate([ep.rewards for ep in episodes]),
            next_observations=np.concatenate([ep.next_observations for ep in episodes]),
            next_actions=next_actions(actions, timesteps, bounds),
            terminals=np.concatenate([ep.terminals for ep in episodes]),
            episode_ids=np.repeat(
                np.array([ep.episode_id for ep in episodes], dtype=np.int64), sizes
            ),
            timesteps=timesteps,
        )

    def __len__(self) -> int:
        return int(self.observations.shape[0])


class LazyTransitionMiniBatch(TransitionMiniBatch):
    """A d3rlpy mini-batch whose arrays are computed by :meth:`_field` when first read.

    Subclasses hold what the arrays come from (rows of a buffer, two batches to join); a learner
    that gathers those rows from tensors never builds the arrays, and any other reader sees an
    ordinary d3rlpy batch.
    """

    transitions: Sequence[Any] = ()

    def _field(self, name: str) -> np.ndarray:
        """The batch's array ``name`` (a :class:`TransitionMiniBatch` field)."""
        raise NotImplementedError

    @functools.cached_property
    def observations(self) -> np.ndarray:
        return self._field("observations")

    @functools.cached_property
    def actions(self) -> np.ndarray:
        return self._field("actions")

    @functools.cached_property
    def rewards(self) -> np.ndarray:
        return self._field("rewards")

    @functools.cached_property
    def next_observations(self) -> np.ndarray:
        return self._field("next_observations")

    @functools.cached_property
    def next_actions(self) -> np.ndarray:
        return self._field("next_actions")

    @functools.cached_property
    def terminals(self) -> np.ndarray:
        return self._field("terminals")

    @functools.cached_property
    def intervals(self) -> np.ndarray:
        return self._field("intervals")


class IndexedTransitionMiniBatch(LazyTransitionMiniBatch):
    """The d3rlpy mini-batch of rows ``indices`` of ``source``'s :attr:`~ExpertReplayBuffer.
    transitions`, whose arrays are gathered when first read.

    A learner that holds those rows as tensors gathers them from there and never reads the
    arrays (:class:`~offline_iq.algos.torch_batches.ScaledTransitions`); any other reader sees
    an ordinary d3rlpy batch.
    """

    def __init__(self, source: ExpertReplayBuffer, indices: np.ndarray) -> None:
        # d3rlpy's batch is a frozen dataclass: set the two attributes past its __setattr__
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "indices", indices)

    source: ExpertReplayBuffer
    indices: np.ndarray

    def _field(self, name: str) -> np.ndarray:
        if name == "intervals":  # one step between a row and its next observation
            return np.ones((len(self.indices), 1), dtype=np.float32)
        return np.asarray(getattr(self.source.transitions, name))[self.indices]

    def __len__(self) -> int:
        return len(self.indices)


#: a feature whose standard deviation is at most this is constant in the data
CONSTANT_STD = 1e-6


def unit_scale_for_constants(std: np.ndarray) -> np.ndarray:
    """``std`` with the features constant in the data (std <= :data:`CONSTANT_STD`) set to 1.

    Standardisation divides by :math:`\\sigma + \\epsilon` (d3rlpy: :math:`\\epsilon = 10^{-3}`):
    a feature that never moves in the demonstrations would be multiplied by 1000 wherever it
    does move. Ant-v5's observation holds 78 contact forces, 54 of which stay exactly 0 along an
    expert episode (the bodies that never touch the ground) and reach 1.0 under a random
    policy: 1000 standard deviations. Like scikit-learn's ``StandardScaler``, such features are
    centred and not scaled; every other feature is left as it is, bit for bit.
    """
    std = np.array(std, copy=True)
    std[std <= CONSTANT_STD] = 1.0
    return std


class ExpertReplayBuffer(ReplayBuffer):
    """A read-only d3rlpy replay buffer of aligned Minari transitions (see :func:`load_minari`).

    Any d3rlpy algorithm's ``fit`` accepts it. ``episodes`` keeps the per-episode structure,
    ``transitions`` the flat arrays, ``initial_observations`` the true ``o_0`` of every episode,
    and ``metadata`` the env spec and reference scores.
    """

    def __init__(
        self,
        episodes: Sequence[TransitionEpisode],
        metadata: DatasetMetadata,
        observation_statistics: tuple[np.ndarray, np.ndarray] | None = None,
        *,
        transitions: TransitionArrays | None = None,
    ) -> None:
        if not episodes or sum(ep.size() for ep in episodes) == 0:
            raise DatasetFormatError(f"dataset {metadata.dataset_id} has no transitions")
        space = metadata.action_space
        discrete = isinstance(space, gym.spaces.Discrete)
        action_size = (
            int(space.n)
            if isinstance(space, gym.spaces.Discrete)
            else int(np.prod(space.shape or (1,)))
        )
        first = episodes[0]
        super().__init__(
            EpisodeTransitionBuffer(episodes),
            transition_picker=TransitionEpisodePicker(),
            observation_signature=first.observation_signature,
            action_signature=first.action_signature,
            reward_signature=first.reward_signature,
            action_space=ActionSpace.DISCRETE if discrete else ActionSpace.CONTINUOUS,
            action_size=action_size,
        )
        self._episode_list = list(episodes)
        if transitions is None:
            transitions = TransitionArrays.from_episodes(episodes)
        elif len(transitions) != self.transition_count:
            raise ValueError(
                f"transitions has {len(transitions)} rows but the episodes hold "
                f"{self.transition_count} transitions"
            )
        self._arrays = transitions
        self._initial_observations = np.stack([ep.initial_observation for ep in episodes])
        self.metadata = metadata
        if observation_statistics is None:
            observations = self._arrays.observations
            observation_statistics = (observations.mean(axis=0), observations.std(axis=0))
        self.observation_statistics = observation_statistics

    def standard_observation_scaler(self) -> StandardObservationScaler:
        """A fitted d3rlpy ``StandardObservationScaler`` from :attr:`observation_statistics`.

        The statistics are those of every state of the selected episodes *before*
        sub-sampling: a feature that barely moves across a handful of sub-sampled states
        (CartPole's cart velocity at every 20th step: std 0.001 instead of 0.13) would otherwise
        be amplified a hundredfold at test time. Features that never move in the data get scale 1
        (:func:`unit_scale_for_constants`).
        """
        mean, std = self.observation_statistics
        return StandardObservationScaler(mean=mean.copy(), std=unit_scale_for_constants(std))

    @property
    def transitions(self) -> TransitionArrays:
        """Every transition as flat, row-aligned arrays."""
        return self._arrays

    @property
    def initial_observations(self) -> np.ndarray:
        """``o_0`` of each episode, ``(n_episodes, *obs_shape)`` (the paper's initial states)."""
        return self._initial_observations

    @property
    def terminates(self) -> bool:
        """Whether any episode ends by termination (a goal or a failure), not by truncation."""
        return any(bool(episode.terminated) for episode in self._episode_list)

    def sample_transition_batch(self, batch_size: int) -> IndexedTransitionMiniBatch:
        """Uniform sample of ``batch_size`` transitions (with replacement), vectorised."""
        index = np.random.randint(len(self._arrays), size=batch_size)
        return self.batch_from_indices(index)

    def batch_from_indices(self, index: np.ndarray) -> IndexedTransitionMiniBatch:
        """The transitions at rows ``index`` of :attr:`transitions` as a d3rlpy mini-batch."""
        return IndexedTransitionMiniBatch(self, index)

    def append(self, *args: Any, **kwargs: Any) -> None:
        """Raise ``TypeError``: the buffer is read-only (use a d3rlpy FIFO buffer online)."""
        raise TypeError(_READ_ONLY)

    def append_episode(self, episode: Any) -> None:
        """Raise ``TypeError``: the buffer is read-only (use a d3rlpy FIFO buffer online)."""
        raise TypeError(_READ_ONLY)

    def clip_episode(self, terminated: bool) -> None:
        """Raise ``TypeError``: the buffer is read-only (use a d3rlpy FIFO buffer online)."""
        raise TypeError(_READ_ONLY)

    def __repr__(self) -> str:
        return (
            f"ExpertReplayBuffer({self.metadata.dataset_id!r}, episodes={len(self._episode_list)}, "
            f"transitions={len(self._arrays)})"
        )


_READ_ONLY = (
    "an ExpertReplayBuffer holds a fixed dataset; collect online data in a d3rlpy buffer such as "
    "d3rlpy.dataset.create_fifo_replay_buffer"
)
