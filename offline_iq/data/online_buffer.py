"""An online replay buffer that samples a mini-batch in one gather: d3rlpy's FIFO, vectorised.

d3rlpy's ``ReplayBuffer`` builds every mini-batch one transition at a time in Python: a lookup in
the FIFO's deque (which walks the deque's blocks, ~n/64 deep), ``BasicTransitionPicker``, then a
stack per field: 13% of an online IQ-Learn step and ~21% of a SAC step here.
:class:`TransitionRing` is d3rlpy's ``FIFOBuffer`` that also writes each transition, exactly as
``BasicTransitionPicker`` gives it, into ring arrays once, when it is appended (a
transition of d3rlpy's writer never changes after it is appended: its next observation and
action are written before it is, and only the last transition of a terminated episode, appended
at ``clip_episode``, is terminal). :class:`FastReplayBuffer` draws the batch's positions as
``np.random.randint(n, size=B)``, which for numpy's global generator gives the same positions as
d3rlpy's ``B`` draws ``np.random.randint(n)`` (tested), and gathers the rows: training on it is
bit-identical to training on ``d3rlpy.dataset.create_fifo_replay_buffer``.

Rings are float32 (integer observations such as images keep their dtype and are cast when
gathered). Limits: array observations only (not tuples), d3rlpy's own ``BasicTransitionPicker``
(not a subclass), and batches carry no per-transition objects (``transitions`` is empty), so
algorithms that need returns-to-go (d3rlpy's Cal-QL) should keep d3rlpy's buffer.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import numpy as np
from d3rlpy.dataset import (
    BasicTransitionPicker,
    Episode,
    EpisodeBase,
    FIFOBuffer,
    ReplayBuffer,
    TransitionMiniBatch,
)
from d3rlpy.dataset.buffers import BufferProtocol

__all__ = ["FastReplayBuffer", "TransitionRing", "create_fast_fifo_replay_buffer"]

_FIELDS = ("observations", "actions", "rewards", "next_observations", "next_actions", "terminals")
_PICKER = BasicTransitionPicker()
_FIRST_CAPACITY = 1024  # rows allocated at the first append; doubled until the limit


class TransitionRing(FIFOBuffer):
    """d3rlpy's FIFO of ``(episode, index)`` plus the picked transitions in rings.

    Position ``k`` of the FIFO (0 = oldest) is row ``(start + k) % capacity`` of the rings; the
    rings grow by doubling until ``limit`` and then overwrite the oldest row, as the FIFO drops
    it.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be a positive number of transitions, got {limit}")
        super().__init__(limit)
        self._rings: dict[str, np.ndarray] = {}
        self._start = 0  # ring row of the oldest transition

    def append(self, episode: EpisodeBase, index: int) -> None:
        """Add transition ``index`` of ``episode`` (d3rlpy's FIFO) and its arrays (the rings)."""
        if not isinstance(episode.observations, np.ndarray):
            raise TypeError(
                "TransitionRing stores array observations only; for tuple observations use "
                "d3rlpy.dataset.create_fifo_replay_buffer"
            )
        picked = _PICKER(episode, index)  # before the FIFO: a failing pick leaves both as they were
        held = len(self)  # transitions before this one
        super().append(episode, index)
        row = {
            "observations": picked.observation,
            "actions": picked.action,
            "rewards": picked.reward,
            "next_observations": picked.next_observation,
            "next_actions": picked.next_action,
            "terminals": np.array([picked.terminal]),
        }
        if not self._rings:
            self._rings = {
                name: np.empty((min(_FIRST_CAPACITY, self._limit), *np.shape(value)), _dtype(value))
                for name, value in row.items()
            }
        target = self._next_row(held)
        for name, value in row.items():
            self._rings[name][target] = value
        if held == self._limit:  # the FIFO dropped its oldest transition: so does the ring
            self._start = (self._start + 1) % self._limit

    def _next_row(self, held: int) -> int:
        """The ring row of the transition appended after ``held`` ones (growing full rings)."""
        capacity = len(self._rings["observations"])
        if held == capacity < self._limit:
            grown = min(2 * capacity, self._limit)
            for name, ring in self._rings.items():
                bigger = np.empty((grown, *ring.shape[1:]), ring.dtype)
                bigger[:capacity] = ring
                self._rings[name] = bigger
        return held if held < self._limit else self._start

    def batch(self, positions: np.ndarray) -> TransitionMiniBatch:
        """The transitions at FIFO ``positions`` (0 = oldest) as a d3rlpy mini-batch."""
        rows = (self._start + positions) % len(self._rings["observations"])
        fields = {name: self._rings[name][rows].astype(np.float32, copy=False) for name in _FIELDS}
        return TransitionMiniBatch(
            **fields,
            intervals=np.ones((len(rows), 1), dtype=np.float32),
            transitions=[],
        )


class FastReplayBuffer(ReplayBuffer):
    """d3rlpy's ``ReplayBuffer`` over a :class:`TransitionRing`, sampling in one gather.

    Same transitions, same random draws, same batches as d3rlpy's FIFO replay buffer; any
    d3rlpy ``fit_online`` accepts it.
    """

    _buffer: TransitionRing

    def __init__(self, buffer: BufferProtocol, **kwargs: Any) -> None:
        if not isinstance(buffer, TransitionRing):
            raise TypeError(f"FastReplayBuffer needs a TransitionRing, got {type(buffer).__name__}")
        picker = kwargs.get("transition_picker")
        if picker is not None and type(picker) is not BasicTransitionPicker:
            raise ValueError(
                "FastReplayBuffer stores transitions as BasicTransitionPicker gives them; "
                f"use d3rlpy's ReplayBuffer for {type(picker).__name__}"
            )
        super().__init__(buffer, **kwargs)

    def sample_transition_batch(self, batch_size: int) -> TransitionMiniBatch:
        """``batch_size`` uniform draws with replacement, as d3rlpy's sampler makes them."""
        if self._buffer.transition_count == 0:
            raise ValueError("the replay buffer is empty: no transition to sample")
        positions = np.random.randint(self._buffer.transition_count, size=batch_size)
        return self._buffer.batch(positions)

    @classmethod
    def load_fifo(cls, f: BinaryIO, limit: int) -> FastReplayBuffer:
        """A buffer of the episodes ``dump``\\ ed to ``f``, kept as a FIFO of ``limit``."""
        return cls.load(f, TransitionRing(limit), episode_cls=Episode)


def _dtype(value: Any) -> np.dtype[Any]:
    """Ring dtype: integer arrays (images) keep theirs, cast exactly when gathered; the rest
    float32, as d3rlpy's batches cast them."""
    array = np.asarray(value)
    return array.dtype if np.issubdtype(array.dtype, np.integer) else np.dtype(np.float32)


def create_fast_fifo_replay_buffer(limit: int, env: Any) -> FastReplayBuffer:
    """An empty :class:`FastReplayBuffer` of ``limit`` transitions for ``env``'s spaces."""
    return FastReplayBuffer(TransitionRing(limit), env=env)
