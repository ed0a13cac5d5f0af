"""Expert and policy rows in one batch: a replay buffer that mixes the two, and what it knows.

Online (``fit_online``) and with logged data (``fit_mixed``), each batch is ``n`` policy rows
then ``n`` expert rows (IQ-Learn, sec. 5.1: half policy, half expert).
:class:`ExpertMixingReplayBuffer` draws them; the batch it returns says which rows are expert
(:class:`MixedTransitionMiniBatch`), so the learner needs no mode of its own.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from d3rlpy.dataset import (
    DatasetInfo,
    EpisodeBase,
    ReplayBufferBase,
    TrajectorySlicerProtocol,
    TransitionMiniBatch,
    TransitionPickerProtocol,
)

from offline_iq.data.buffer import ExpertReplayBuffer, LazyTransitionMiniBatch
from offline_iq.data.loader import source_termination_fraction

__all__ = [
    "ExpertMixingReplayBuffer",
    "MixedTransitionMiniBatch",
    "concat_batches",
    "terminations_are_goals",
    "initial_observations",
]


class MixedTransitionMiniBatch(LazyTransitionMiniBatch):
    """A d3rlpy mini-batch of the rows of ``policy`` then those of ``expert``; ``is_expert``
    marks the expert rows (``(B,)`` bool).

    ``parts`` keeps the two batches; each array is joined when first read, so a learner that
    gathers the rows of both parts from tensors (both are rows of an ExpertReplayBuffer then)
    never builds the joined arrays.
    """

    def __init__(self, policy: TransitionMiniBatch, expert: TransitionMiniBatch) -> None:
        # d3rlpy's batch is a frozen dataclass: set the attribute past its __setattr__
        object.__setattr__(self, "parts", (policy, expert))

    parts: tuple[TransitionMiniBatch, TransitionMiniBatch]

    def _field(self, name: str) -> np.ndarray:
        policy, expert = self.parts
        return np.concatenate(
            [np.asarray(getattr(policy, name)), np.asarray(getattr(expert, name))]
        )

    @functools.cached_property
    def is_expert(self) -> np.ndarray:
        policy, expert = self.parts
        return np.concatenate([np.zeros(len(policy), dtype=bool), np.ones(len(expert), dtype=bool)])

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)


def concat_batches(
    policy: TransitionMiniBatch, expert: TransitionMiniBatch
) -> MixedTransitionMiniBatch:
    """Rows of ``policy`` then rows of ``expert`` as one batch, the expert rows marked."""
    return MixedTransitionMiniBatch(policy, expert)


def initial_observations(dataset: ReplayBufferBase) -> np.ndarray:
    """True initial states ``o_0`` of a dataset's episodes (of the policy rows when mixed)."""
    if isinstance(dataset, ExpertMixingReplayBuffer):
        return initial_observations(dataset.policy)
    if isinstance(dataset, ExpertReplayBuffer):
        return dataset.initial_observations
    firsts = [np.asarray(ep.observations)[0] for ep in dataset.episodes]
    if not firsts:
        raise ValueError("the dataset has no episodes to take initial states from")
    return np.stack(firsts).astype(np.float32)


def terminations_are_goals(dataset: ReplayBufferBase) -> bool:
    """Whether the expert's terminations are goals rather than failures: most of its episodes
    end in one (Acrobot, MountainCar, LunarLander 49 of 50) rather than by the time limit
    (CartPole; Hopper, whose expert falls in 4 of 25 episodes).

    For data loaded by :func:`~offline_iq.data.load_minari` this is decided on every episode of
    the source dataset, not on the drawn demonstrations: one drawn Hopper demonstration that
    falls read as a goal under the old rule (any drawn episode terminates), which switched the
    absorbing state off, and online IQ-Learn then learned to end its episodes (return 3 from
    5,000 environment steps on; ``results/online/stability/``). Other buffers: their own
    episodes.
    """
    fraction = None
    if isinstance(dataset, ExpertReplayBuffer):
        fraction = source_termination_fraction(dataset.metadata.data_path)
    if fraction is None:  # other buffers, or a source that cannot be read any more
        ends = [bool(episode.terminated) for episode in dataset.episodes]
        if not ends:
            return False
        fraction = sum(ends) / len(ends)
    return fraction >= 0.5


class ExpertMixingReplayBuffer(ReplayBufferBase):
    """``policy`` (d3rlpy's online replay buffer, or logged data) joined by ``expert`` rows.

    ``sample_transition_batch(n)`` draws ``n`` policy rows, then ``n`` expert rows. Writing
    (``append``, ``clip_episode``) and everything else goes to ``policy``.
    """

    def __init__(self, policy: ReplayBufferBase, expert: ReplayBufferBase) -> None:
        if expert.transition_count == 0:
            raise ValueError("demonstrations are empty")
        self.policy = policy
        self.expert = expert

    def sample_transition_batch(self, batch_size: int) -> MixedTransitionMiniBatch:
        """``batch_size`` policy rows, then ``batch_size`` expert rows."""
        policy = self.policy.sample_transition_batch(batch_size)
        return concat_batches(policy, self.expert.sample_transition_batch(batch_size))

    # everything below is the policy buffer's
    def append(self, observation: Any, action: Any, reward: Any) -> None:
        """The policy buffer's ``append``."""
        self.policy.append(observation, action, reward)

    def append_episode(self, episode: EpisodeBase) -> None:
        """The policy buffer's ``append_episode``."""
        self.policy.append_episode(episode)

    def clip_episode(self, terminated: bool) -> None:
        """The policy buffer's ``clip_episode``."""
        self.policy.clip_episode(terminated)

    def sample_transition(self) -> Any:
        """The policy buffer's ``sample_transition``."""
        return self.policy.sample_transition()

    def sample_trajectory(self, length: int) -> Any:
        """The policy buffer's ``sample_trajectory``."""
        return self.policy.sample_trajectory(length)

    def sample_trajectory_batch(self, batch_size: int, length: int) -> Any:
        """The policy buffer's ``sample_trajectory_batch``."""
        return self.policy.sample_trajectory_batch(batch_size, length)

    def dump(self, f: Any) -> None:
        """The policy buffer's ``dump``."""
        self.policy.dump(f)

    @classmethod
    def from_episode_generator(cls, *args: Any, **kwargs: Any) -> ExpertMixingReplayBuffer:
        """Not supported: wrap a built policy buffer instead."""
        raise TypeError("build the policy buffer, then ExpertMixingReplayBuffer(policy, expert)")

    @classmethod
    def load(cls, *args: Any, **kwargs: Any) -> ExpertMixingReplayBuffer:
        """Not supported: wrap a built policy buffer instead."""
        raise TypeError("load the policy buffer, then ExpertMixingReplayBuffer(policy, expert)")

    @property
    def episodes(self) -> Any:
        """The policy buffer's ``episodes``."""
        return self.policy.episodes

    def size(self) -> int:
        """The policy buffer's ``size``."""
        return self.policy.size()

    @property
    def buffer(self) -> Any:
        """The policy buffer's ``buffer``."""
        return self.policy.buffer

    @property
    def transition_count(self) -> int:
        """The policy buffer's ``transition_count``."""
        return self.policy.transition_count

    @property
    def transition_picker(self) -> TransitionPickerProtocol:
        """The policy buffer's ``transition_picker``."""
        return self.policy.transition_picker

    @property
    def trajectory_slicer(self) -> TrajectorySlicerProtocol:
        """The policy buffer's ``trajectory_slicer``."""
        return self.policy.trajectory_slicer

    @property
    def writer(self) -> Any:
        """The policy buffer's ``writer``."""
        return self.policy.writer

    @property
    def dataset_info(self) -> DatasetInfo:
        """The policy buffer's ``dataset_info``."""
        return self.policy.dataset_info
