"""The algorithms the benchmark and ``offline-iq fit`` know, by short name.

``bc`` is d3rlpy's own ``BCConfig`` / ``DiscreteBCConfig``; every algorithm gets the same
observation scaler (statistics of the selected demonstrations) so that only the learning method
differs between them. ``auto`` is IQ-Learn's default: standardisation clipped at 3 deviations
offline with discrete actions, plain standardisation otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import d3rlpy
from d3rlpy.base import LearnableConfig
from d3rlpy.preprocessing import ObservationScaler

from offline_iq.algos import (
    DiscreteIQLearnConfig,
    DiscreteValueDICEConfig,
    IQLearnConfig,
    ValueDICEConfig,
)
from offline_iq.algos.expert_mixing import demonstrations_terminate
from offline_iq.data.buffer import ExpertReplayBuffer
from offline_iq.preprocessing import ClippedStandardObservationScaler

__all__ = [
    "ALGORITHMS",
    "ONLINE_ALGORITHMS",
    "ONLINE_SETTINGS",
    "SCALERS",
    "algorithm_names",
    "check_scaler",
    "make_config",
    "make_online_config",
    "observation_scaler",
    "parse_algorithm",
    "resolve_scaler",
]

ConfigFactory = Callable[..., LearnableConfig]

# name -> (discrete factory, continuous factory)
ALGORITHMS: dict[str, tuple[ConfigFactory, ConfigFactory]] = {
    "iq": (DiscreteIQLearnConfig, IQLearnConfig),
    "bc": (d3rlpy.algos.DiscreteBCConfig, d3rlpy.algos.BCConfig),
    "valuedice": (DiscreteValueDICEConfig, ValueDICEConfig),
}


# name -> (discrete, continuous) online settings; IQ-Learn's are its configs' ``ONLINE_SETTINGS``
# (``DiscreteIQLearnConfig.for_online()``, ``IQLearnConfig.for_online()``)
ONLINE_SETTINGS: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]] = {
    "iq": (DiscreteIQLearnConfig.ONLINE_SETTINGS, IQLearnConfig.ONLINE_SETTINGS),
    "valuedice": ({}, {}),
}
ONLINE_ALGORITHMS = tuple(ONLINE_SETTINGS)
SCALERS = ("auto", "standard", "clipped", "none")
ONLINE_SUFFIX = "-online"


def algorithm_names() -> list[str]:
    """Every name the benchmark accepts: ``iq``, ``bc``, ``valuedice``, ``iq-online``, ..."""
    return [*ALGORITHMS, *(f"{name}{ONLINE_SUFFIX}" for name in ONLINE_ALGORITHMS)]


def parse_algorithm(name: str) -> tuple[str, str]:
    """``"iq"`` -> ``("iq", "offline")``; ``"iq-online"`` -> ``("iq", "online")``."""
    base, mode = name, "offline"
    if name.endswith(ONLINE_SUFFIX):
        base, mode = name[: -len(ONLINE_SUFFIX)], "online"
        if base not in ONLINE_SETTINGS:
            online = ", ".join(ONLINE_ALGORITHMS)
            raise ValueError(f"{base!r} has no online mode ({online} have; BC learns offline)")
    if base not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose from {', '.join(algorithm_names())}")
    return base, mode


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
    discrete = data.dataset_info.action_space == d3rlpy.ActionSpace.DISCRETE
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


def make_online_config(
    name: str, data: ExpertReplayBuffer, *, scaler: str = "auto", **overrides: Any
) -> LearnableConfig:
    """:func:`make_config` with the learner's online settings (:data:`ONLINE_SETTINGS`).

    The absorbing state values a policy's termination as a failure, so it is kept only where
    the demonstrations never terminate (CartPole, Hopper: episodes end by failure or time
    limit); where the expert's own episodes terminate (Acrobot, MountainCar, LunarLander reach
    a goal) it is turned off unless ``absorbing`` is passed.
    """
    if name not in ONLINE_SETTINGS:
        raise ValueError(f"{name!r} has no online mode; choose from {', '.join(ONLINE_ALGORITHMS)}")
    discrete = data.dataset_info.action_space == d3rlpy.ActionSpace.DISCRETE
    settings = dict(ONLINE_SETTINGS[name][0 if discrete else 1])
    if settings.get("absorbing") and demonstrations_terminate(data):
        settings["absorbing"] = False
    return _make(name, data, scaler, True, {**settings, **overrides})


def make_config(
    name: str, data: ExpertReplayBuffer, *, scaler: str = "auto", **overrides: Any
) -> LearnableConfig:
    """Config of algorithm ``name`` for ``data``'s action space, scalers fitted to ``data``.

    ``scaler`` picks the observation scaler (:func:`observation_scaler`); so does a string
    ``observation_scaler`` override (``offline-iq fit -o observation_scaler=clipped``).
    """
    return _make(name, data, scaler, False, overrides)


def _make(
    name: str, data: ExpertReplayBuffer, scaler: str, online: bool, overrides: dict[str, Any]
) -> LearnableConfig:
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose from {', '.join(ALGORITHMS)}")
    overrides = dict(overrides)
    if isinstance(overrides.get("observation_scaler"), str):
        scaler = overrides.pop("observation_scaler")
    discrete = data.dataset_info.action_space == d3rlpy.ActionSpace.DISCRETE
    factory = ALGORITHMS[name][0 if discrete else 1]
    obs_scaler = observation_scaler(data, scaler, online=online)
    scalers: dict[str, Any] = {"observation_scaler": obs_scaler}
    if not discrete:
        scalers["action_scaler"] = d3rlpy.preprocessing.MinMaxActionScaler(
            minimum=data.metadata.action_space.low,  # type: ignore[attr-defined]
            maximum=data.metadata.action_space.high,  # type: ignore[attr-defined]
        )
    return factory(**{**scalers, **overrides})
