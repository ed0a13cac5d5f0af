r"""Observation preprocessing for learning from few demonstrations.

A handful of expert trajectories often barely moves along some feature (CartPole's cart
position: std 0.006 over one 500-step trajectory, while evaluation episodes start anywhere in
:math:`\pm 0.05`). Standardisation then puts test states tens of standard deviations away from
anything seen in training, where the network's output is arbitrary.
:class:`ClippedStandardObservationScaler` bounds that extrapolation: a feature beyond
:math:`\pm c` standard deviations is read as if it were at :math:`\pm c`.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import torch
from d3rlpy.dataset import ReplayBufferBase
from d3rlpy.preprocessing import (
    ActionScaler,
    MinMaxActionScaler,
    ObservationScaler,
    StandardObservationScaler,
    register_observation_scaler,
)
from d3rlpy.types import NDArray

from offline_iq.data.buffer import ExpertReplayBuffer, unit_scale_for_constants

__all__ = [
    "DEFAULT_OBSERVATION_CLIP",
    "SCALERS",
    "ClippedStandardObservationScaler",
    "check_scaler",
    "fit_action_scaler",
    "fit_observation_scaler",
    "observation_scaler",
    "resolve_scaler",
]

DEFAULT_OBSERVATION_CLIP = 3.0


@dataclasses.dataclass()
class ClippedStandardObservationScaler(StandardObservationScaler):
    r"""Standardisation clipped to :math:`\pm c`: :math:`x' = \mathrm{clip}((x - \mu) /
    (\sigma + \epsilon), -c, c)`.

    Offline, nothing is known about states beyond the data, and clipping keeps the learner from
    extrapolating there. Online the agent does learn about states far from the demonstrations,
    and clipping would merge them: the learners' online configs (``for_online``) standardise
    plainly, and ``fit_online`` warns about a clipping scaler. SB3's ``VecNormalize`` clips
    standardised observations the same way (at 10).

    It is the default of :class:`~offline_iq.DiscreteIQLearnConfig` (and of the benchmark's
    discrete datasets offline) but not of the continuous learners: a skewed feature gets its own
    training states clipped (Pendulum's cos(theta): mean 0.8, std 0.44, so every state below
    cos = -0.5 reads the same). The measurements behind both choices are in ``results/``.

    Args:
        mean: per-feature mean (fitted from the data when ``None``).
        std: per-feature standard deviation (fitted from the data when ``None``).
        eps: added to ``std`` to avoid dividing by zero.
        clip: the bound :math:`c` on standardised features (> 0); ``None`` does not clip.
    """

    clip: float | None = DEFAULT_OBSERVATION_CLIP

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"clip must be > 0 or None, got {self.clip}")

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Standardise and clip a tensor."""
        z = super().transform(x)
        return z if self.clip is None else z.clamp(-self.clip, self.clip)

    def transform_numpy(self, x: NDArray) -> NDArray:
        """Standardise and clip an array."""
        z = super().transform_numpy(x)
        return z if self.clip is None else np.clip(z, -self.clip, self.clip)

    @staticmethod
    def get_type() -> str:
        """Name under which d3rlpy serialises this scaler."""
        return "clipped_standard"


register_observation_scaler(ClippedStandardObservationScaler)


def fit_observation_scaler(scaler: ObservationScaler | None, dataset: ReplayBufferBase) -> None:
    """Fit an unfitted ``scaler`` on ``dataset``; a fitted one (or ``None``) is left as it is.

    Standardisation on an :class:`~offline_iq.data.buffer.ExpertReplayBuffer` uses its
    full-episode statistics (:attr:`~offline_iq.data.buffer.ExpertReplayBuffer.
    observation_statistics`, taken before sub-sampling). Standardisation without a clip leaves
    features constant in the data unscaled (:func:`~offline_iq.data.buffer.
    unit_scale_for_constants`). A scaler handed unfitted to d3rlpy's own learners (its BC) is
    fitted by d3rlpy, without either.
    """
    if scaler is None or scaler.built:
        return
    if isinstance(scaler, StandardObservationScaler) and isinstance(dataset, ExpertReplayBuffer):
        mean, std = dataset.observation_statistics
        scaler.mean, scaler.std = mean.copy(), std.copy()
    else:
        scaler.fit_with_transition_picker(dataset.episodes, dataset.transition_picker)
    unclipped = getattr(scaler, "clip", None) is None  # a clip bounds constant features itself
    if isinstance(scaler, StandardObservationScaler) and unclipped and scaler.std is not None:
        scaler.std = unit_scale_for_constants(scaler.std)


def fit_action_scaler(scaler: ActionScaler | None, dataset: ReplayBufferBase) -> None:
    """Fit an unfitted min-max ``scaler`` to the bounds of the dataset's action space (not to
    the range the expert happened to use); other scalers and fitted ones are left alone."""
    if not isinstance(scaler, MinMaxActionScaler) or scaler.built:
        return
    if isinstance(dataset, ExpertReplayBuffer):
        space = dataset.metadata.action_space
        if isinstance(space, gym.spaces.Box):
            scaler.minimum, scaler.maximum = space.low, space.high


#: the observation scalers the CLI and the benchmark name
SCALERS = ("auto", "standard", "clipped", "none")


def check_scaler(kind: str) -> str:
    """``kind`` if it is one of :data:`SCALERS`, else a ``ValueError`` naming the choices."""
    if kind not in SCALERS:
        raise ValueError(f"unknown observation scaler {kind!r}; choose from {', '.join(SCALERS)}")
    return kind


def resolve_scaler(data: ExpertReplayBuffer, kind: str = "auto", *, online: bool = False) -> str:
    """The concrete scaler ``kind`` stands for: ``auto`` is ``clipped`` offline with discrete
    actions and ``standard`` otherwise (online the agent must tell apart the far states it
    visits, which a clip would merge)."""
    if check_scaler(kind) != "auto":
        return kind
    discrete = isinstance(data.metadata.action_space, gym.spaces.Discrete)
    return "clipped" if discrete and not online else "standard"


def observation_scaler(
    data: ExpertReplayBuffer, kind: str = "auto", *, online: bool = False
) -> ObservationScaler | None:
    """Observation scaler ``kind`` (one of :data:`SCALERS`) fitted to ``data``'s statistics.

    The statistics are those of every state before sub-sampling
    (:attr:`~offline_iq.data.buffer.ExpertReplayBuffer.observation_statistics`).
    """
    kind = resolve_scaler(data, kind, online=online)
    if kind == "none":
        return None
    if kind == "standard":
        return data.standard_observation_scaler()
    mean, std = data.observation_statistics
    return ClippedStandardObservationScaler(mean=mean.copy(), std=std.copy())
