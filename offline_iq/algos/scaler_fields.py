"""d3rlpy config fields whose default scaler is built per config instead of ``None``."""

from __future__ import annotations

import dataclasses

from d3rlpy.preprocessing import (
    ActionScaler,
    MinMaxActionScaler,
    ObservationScaler,
    StandardObservationScaler,
    make_action_scaler_field,
    make_observation_scaler_field,
)

from offline_iq.preprocessing import ClippedStandardObservationScaler

__all__ = ["clipped_scaler_field", "min_max_action_field", "standard_scaler_field"]


def standard_scaler_field() -> ObservationScaler | None:
    """Observation-scaler field defaulting to a fresh ``StandardObservationScaler``.

    Pass ``observation_scaler=None`` to train on raw observations, or
    ``ClippedStandardObservationScaler()`` to bound standardised features.
    """
    base: dataclasses.Field[ObservationScaler | None] = make_observation_scaler_field()
    return dataclasses.field(metadata=base.metadata, default_factory=StandardObservationScaler)


def clipped_scaler_field() -> ObservationScaler | None:
    """Observation-scaler field defaulting to a fresh ``ClippedStandardObservationScaler``."""
    base: dataclasses.Field[ObservationScaler | None] = make_observation_scaler_field()
    return dataclasses.field(
        metadata=base.metadata, default_factory=ClippedStandardObservationScaler
    )


def min_max_action_field() -> ActionScaler | None:
    """Action-scaler field defaulting to ``MinMaxActionScaler``, fitted to the action space."""
    base: dataclasses.Field[ActionScaler | None] = make_action_scaler_field()
    return dataclasses.field(metadata=base.metadata, default_factory=MinMaxActionScaler)
