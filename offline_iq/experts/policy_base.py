"""What every expert controller is: the :class:`ExpertPolicy` protocol and a stateless base."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = ["Action", "ExpertPolicy", "FloatArray", "Observation", "StatelessController"]

Observation = NDArray[Any]
Action = int | NDArray[np.float32]
FloatArray = NDArray[np.float64]


@runtime_checkable
class ExpertPolicy(Protocol):
    """Observation -> action (``int`` if discrete, float32 array if continuous)."""

    name: str
    description: str

    def reset(self) -> None:
        """Clear any internal state at the start of an episode."""

    def __call__(self, observation: Observation) -> Action:
        """Return the action for ``observation``."""


class StatelessController:
    """Base class for controllers without per-episode state."""

    name: str = ""
    description: str = ""

    def reset(self) -> None:
        """Nothing to clear."""
