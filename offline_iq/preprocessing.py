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

import numpy as np
import torch
from d3rlpy.preprocessing import StandardObservationScaler, register_observation_scaler
from d3rlpy.types import NDArray

__all__ = ["DEFAULT_OBSERVATION_CLIP", "ClippedStandardObservationScaler"]

DEFAULT_OBSERVATION_CLIP = 3.0


@dataclasses.dataclass()
class ClippedStandardObservationScaler(StandardObservationScaler):
    r"""Standardisation clipped to :math:`\pm c`: :math:`x' = \mathrm{clip}((x - \mu) /
    (\sigma + \epsilon), -c, c)`.

    Offline, nothing is known about states beyond the data, and clipping keeps the learner from
    extrapolating there: offline DiscreteIQLearn from one CartPole trajectory (5,000 steps)
    went from 124 / 399 (plain standardisation, seeds 2 / 3) to 500 / 500 with
    :math:`c = 3`, and every one of seeds 0-9 reached >= 494. Online the agent does learn about
    states far from the demonstrations, and clipping hides them (online CartPole, 1 demo: 151 /
    199 against 469 / 373 unclipped), so ``fit_online`` fits an unfitted scaler of this class
    with ``clip=None`` (plain standardisation); the saved model keeps that setting. SB3's
    ``VecNormalize`` clips standardised observations the same way (at 10).

    It is the default of :class:`~offline_iq.DiscreteIQLearnConfig` (and of the benchmark's
    discrete datasets) but not of the continuous learners: a skewed feature gets its own training
    states clipped (Pendulum's cos(theta): mean 0.8, std 0.44, so every state below cos = -0.5
    reads the same). Measured as the default for every learner: the Pendulum reward-recovery
    Pearson fell from 0.915 to 0.856, Hopper BC from one trajectory from 0.95 to 0.74 (3 seeds).
    Alternatives measured on CartPole: bounding by the data's own range or 3 deviations,
    whichever is wider, kept training states intact but gave 463.8 on seed 2; a floor on the
    deviation (``eps`` 0.02 / 0.05) gave 376-500 / 404-500 over seeds 0-9.

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
