"""Turn Minari's per-episode space data into the float32 arrays d3rlpy trains on.

Observations: a ``Box`` keeps its shape; ``Discrete`` becomes a one-hot vector; ``MultiBinary``
is flattened; ``Dict`` and ``Tuple`` spaces of those are flattened exactly as
:func:`gymnasium.spaces.flatten` flattens one sample (sub-spaces in the space's own order).
Actions: ``Discrete`` becomes integer indices shaped ``(T, 1)``; a ``Box`` becomes ``(T, d)``.
Any other space (``Text``, ``Graph``, ``Sequence``, ``MultiDiscrete`` actions, ...) is refused with
a :class:`DatasetFormatError` naming it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from offline_iq.data.errors import DatasetFormatError

__all__ = ["action_kind", "actions_to_array", "check_observation_space", "observations_to_array"]


def check_observation_space(space: spaces.Space[Any], where: str = "observation_space") -> None:
    """Raise :class:`DatasetFormatError` if ``space`` cannot be flattened to a float vector."""
    if isinstance(space, spaces.Box | spaces.Discrete | spaces.MultiBinary):
        return
    if isinstance(space, spaces.Dict):
        for key, sub in space.spaces.items():
            check_observation_space(sub, f"{where}[{key!r}]")
        return
    if isinstance(space, spaces.Tuple):
        for i, sub in enumerate(space.spaces):
            check_observation_space(sub, f"{where}[{i}]")
        return
    raise DatasetFormatError(
        f"{where} is {space}: a {type(space).__name__} space cannot be flattened into a float "
        "vector (supported: Box, Discrete, MultiBinary, and Dict/Tuple of those)"
    )


def observations_to_array(space: spaces.Space[Any], data: Any) -> np.ndarray:
    """Flatten a batch of observations stored under ``space`` into a float32 array ``(N, ...)``.

    A ``Box`` keeps its trailing shape (images stay images); composite spaces become ``(N, d)``.
    """
    check_observation_space(space)
    if isinstance(space, spaces.Box):
        array = np.asarray(data, dtype=np.float32)
        if array.shape[1:] != space.shape:
            raise DatasetFormatError(
                f"observations have shape {array.shape[1:]} per step but the space is {space}"
            )
        return array
    return _flatten_batch(space, data)


def _flatten_batch(space: spaces.Space[Any], data: Any) -> np.ndarray:
    if isinstance(space, spaces.Box | spaces.MultiBinary):
        array = np.asarray(data, dtype=np.float32)
        return array.reshape(array.shape[0], -1)
    if isinstance(space, spaces.Discrete):
        index = np.asarray(data, dtype=np.int64).reshape(-1) - int(space.start)
        if index.size and (index.min() < 0 or index.max() >= int(space.n)):
            raise DatasetFormatError(f"observation values outside {space}")
        return np.eye(int(space.n), dtype=np.float32)[index]
    if isinstance(space, spaces.Dict):
        parts = [_flatten_batch(sub, data[key]) for key, sub in space.spaces.items()]
        return np.concatenate(parts, axis=1)
    if isinstance(space, spaces.Tuple):
        parts = [_flatten_batch(sub, data[i]) for i, sub in enumerate(space.spaces)]
        return np.concatenate(parts, axis=1)
    raise AssertionError(f"unchecked space {space}")  # check_observation_space ran first


def action_kind(space: spaces.Space[Any]) -> str:
    """``"discrete"`` or ``"continuous"``; refuse action spaces d3rlpy cannot train on."""
    if isinstance(space, spaces.Discrete):
        return "discrete"
    if isinstance(space, spaces.Box) and len(space.shape) == 1:
        return "continuous"
    raise DatasetFormatError(
        f"action_space is {space}: only Discrete and one-dimensional Box action spaces are "
        "supported"
    )


def actions_to_array(space: spaces.Space[Any], data: Any) -> np.ndarray:
    """Discrete: float32 indices ``(T, 1)`` from 0 (d3rlpy's layout); Box: ``(T, d)``."""
    if action_kind(space) == "discrete":
        assert isinstance(space, spaces.Discrete)
        index = np.asarray(data, dtype=np.int64).reshape(-1, 1) - int(space.start)
        if index.size and (index.min() < 0 or index.max() >= int(space.n)):
            raise DatasetFormatError(f"action values outside {space}")
        return index.astype(np.float32)
    array = np.asarray(data, dtype=np.float32)
    return array.reshape(array.shape[0], -1)
