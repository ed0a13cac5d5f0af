"""A policy trained by :func:`~offline_iq.experts.train.train_expert`, as an expert controller."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import d3rlpy
import numpy as np

from offline_iq.runtime import quiet_d3rlpy

__all__ = ["TrainedExpert"]


class TrainedExpert:
    """Deterministic actions (``predict``) of a saved d3rlpy model (``model.d3`` / ``best.d3``).

    Implements the :class:`~offline_iq.experts.controllers.ExpertPolicy` protocol, so
    :func:`~offline_iq.experts.collect.collect_dataset` records it like a built-in controller.
    """

    def __init__(self, path: str | os.PathLike[str], device: str = "cpu:0") -> None:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"expert model {str(path)!r} does not exist")
        quiet_d3rlpy()
        self._model: Any = d3rlpy.load_learnable(str(path), device=device)
        self.name = f"{type(self._model).__name__.lower()}-{path.parent.name}-{path.stem}"
        self.description = f"d3rlpy {type(self._model).__name__} expert loaded from {path}."

    def check_env(self, env: Any) -> None:
        """Raise ``ValueError`` unless ``env``'s observations are the shape the model was trained
        on (an environment made with other keywords, e.g. Ant-v5's contact forces, differs)."""
        trained = tuple(int(d) for d in self._model.observation_shape)
        shape = tuple(env.observation_space.shape or ())
        if shape != trained:
            raise ValueError(
                f"{self.description[:-1]} acts on observations of shape {trained}, but the "
                f"environment gives {shape}: make it with the keywords the expert was trained "
                "with (its state.json's env_kwargs)"
            )

    def reset(self) -> None:
        """Nothing to clear: the policy is stateless."""

    def __call__(self, observation: Any) -> Any:
        """Return the model's greedy action for one observation."""
        batch = np.asarray(observation, dtype=np.float32)[None]
        action = self._model.predict(batch)[0]
        return int(action) if np.ndim(action) == 0 else np.asarray(action, dtype=np.float32)
