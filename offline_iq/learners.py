"""The learners ``offline-iq fit`` and the benchmark know, by short name, and their configs.

``bc`` is d3rlpy's own ``BCConfig`` / ``DiscreteBCConfig``; every learner gets the same
observation scaler (statistics of the selected demonstrations, chosen by
:func:`~offline_iq.preprocessing.observation_scaler`) so that only the learning method differs
between them. Every config made here passes :func:`~offline_iq.validation.check_field_types`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import d3rlpy
from d3rlpy.base import LearnableConfig

from offline_iq.algos import (
    DiscreteIQLearnConfig,
    DiscreteValueDICEConfig,
    IQLearnConfig,
    ValueDICEConfig,
)
from offline_iq.algos.iq_config import IQLearnConfigBase
from offline_iq.data.buffer import ExpertReplayBuffer
from offline_iq.preprocessing import observation_scaler
from offline_iq.validation import check_field_types

__all__ = [
    "ALGORITHMS",
    "ONLINE_ALGORITHMS",
    "algorithm_names",
    "make_config",
    "make_online_config",
    "parse_algorithm",
]

ConfigFactory = Callable[..., LearnableConfig]

# name -> (discrete factory, continuous factory)
ALGORITHMS: dict[str, tuple[ConfigFactory, ConfigFactory]] = {
    "iq": (DiscreteIQLearnConfig, IQLearnConfig),
    "bc": (d3rlpy.algos.DiscreteBCConfig, d3rlpy.algos.BCConfig),
    "valuedice": (DiscreteValueDICEConfig, ValueDICEConfig),
}


# the learners with an online mode (BC learns offline)
ONLINE_ALGORITHMS = ("iq", "valuedice")
ONLINE_SUFFIX = "-online"


def algorithm_names() -> list[str]:
    """Every name the benchmark accepts: ``iq``, ``bc``, ``valuedice``, ``iq-online``, ..."""
    return [*ALGORITHMS, *(f"{name}{ONLINE_SUFFIX}" for name in ONLINE_ALGORITHMS)]


def parse_algorithm(name: str) -> tuple[str, str]:
    """``"iq"`` -> ``("iq", "offline")``; ``"iq-online"`` -> ``("iq", "online")``."""
    base, mode = name, "offline"
    if name.endswith(ONLINE_SUFFIX):
        base, mode = name[: -len(ONLINE_SUFFIX)], "online"
        if base not in ONLINE_ALGORITHMS:
            online = ", ".join(ONLINE_ALGORITHMS)
            raise ValueError(f"{base!r} has no online mode ({online} have; BC learns offline)")
    if base not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose from {', '.join(algorithm_names())}")
    return base, mode


def make_online_config(
    name: str, data: ExpertReplayBuffer, *, scaler: str = "auto", **overrides: Any
) -> LearnableConfig:
    """:func:`make_config` with the learner's online settings (IQ-Learn's ``ONLINE_SETTINGS``).

    The absorbing state values a policy's termination as a failure, so it is kept only where
    the demonstrations never terminate (CartPole, Hopper: episodes end by failure or time
    limit); where the expert's own episodes terminate (Acrobot, MountainCar, LunarLander reach
    a goal) it is turned off unless ``absorbing`` is passed.
    """
    if name not in ONLINE_ALGORITHMS:
        raise ValueError(f"{name!r} has no online mode; choose from {', '.join(ONLINE_ALGORITHMS)}")
    factory = _factory(name, data)
    settings: dict[str, Any] = {}
    if isinstance(factory, type) and issubclass(factory, IQLearnConfigBase):
        # the scaler is chosen below, as for every learner
        settings = {k: v for k, v in factory.ONLINE_SETTINGS.items() if k != "observation_scaler"}
    if settings.get("absorbing") and data.terminates:
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


def _factory(name: str, data: ExpertReplayBuffer) -> ConfigFactory:
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose from {', '.join(ALGORITHMS)}")
    discrete = data.dataset_info.action_space == d3rlpy.ActionSpace.DISCRETE
    return ALGORITHMS[name][0 if discrete else 1]


def _make(
    name: str, data: ExpertReplayBuffer, scaler: str, online: bool, overrides: dict[str, Any]
) -> LearnableConfig:
    factory = _factory(name, data)
    overrides = dict(overrides)
    if isinstance(overrides.get("observation_scaler"), str):
        scaler = overrides.pop("observation_scaler")
    scalers: dict[str, Any] = {
        "observation_scaler": observation_scaler(data, scaler, online=online)
    }
    if data.dataset_info.action_space != d3rlpy.ActionSpace.DISCRETE:
        scalers["action_scaler"] = d3rlpy.preprocessing.MinMaxActionScaler(
            minimum=data.metadata.action_space.low,  # type: ignore[attr-defined]
            maximum=data.metadata.action_space.high,  # type: ignore[attr-defined]
        )
    unknown = sorted(set(overrides) - _field_names(factory))
    if unknown:
        raise ValueError(f"{name} has no field {', '.join(map(repr, unknown))}")
    config = factory(**{**scalers, **overrides})
    check_field_types(config)
    return config


def _field_names(factory: ConfigFactory) -> set[str]:
    fields = getattr(factory, "__dataclass_fields__", {})
    return set(fields)
