"""The algorithms the benchmark and ``offline-iq fit`` know, by short name.

``bc`` is d3rlpy's own ``BCConfig`` / ``DiscreteBCConfig``; every algorithm gets the same
observation standardisation (statistics of the selected demonstrations) so that only the
learning method differs between them.
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
from offline_iq.data.buffer import ExpertReplayBuffer

__all__ = [
    "ALGORITHMS",
    "ONLINE_ALGORITHMS",
    "ONLINE_SETTINGS",
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


# the paper's online settings (sec. 5.1, 7; MuJoCo: actor learning rate 3e-5, continuous actions
# only), plus LS-IQ's absorbing state for terminations: IQ-Learn's rewards on policy rows are
# negative, so without it the agent learns to end episodes early (online Hopper-v5 from one
# demonstration: 3.5 / 3.3 / 3.1 after 5k / 10k / 15k env steps, against 1525 / 1885 / 2446 with)
ONLINE_SETTINGS: dict[str, dict[str, Any]] = {
    "iq": {
        "value_objective": "value",
        "chi2_on_mixture": True,
        "use_target_network": True,
        "absorbing": True,
        "actor_learning_rate": 3e-5,
    },
    "valuedice": {},
}
ONLINE_ALGORITHMS = tuple(ONLINE_SETTINGS)
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


def make_online_config(name: str, data: ExpertReplayBuffer, **overrides: Any) -> LearnableConfig:
    """:func:`make_config` with the paper's online settings (:data:`ONLINE_SETTINGS`)."""
    if name not in ONLINE_SETTINGS:
        raise ValueError(f"{name!r} has no online mode; choose from {', '.join(ONLINE_ALGORITHMS)}")
    settings = dict(ONLINE_SETTINGS[name])
    if data.dataset_info.action_space == d3rlpy.ActionSpace.DISCRETE:
        settings.pop("actor_learning_rate", None)
    return make_config(name, data, **{**settings, **overrides})


def make_config(name: str, data: ExpertReplayBuffer, **overrides: Any) -> LearnableConfig:
    """Config of algorithm ``name`` for ``data``'s action space, scalers fitted to ``data``."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose from {', '.join(ALGORITHMS)}")
    discrete = data.dataset_info.action_space == d3rlpy.ActionSpace.DISCRETE
    factory = ALGORITHMS[name][0 if discrete else 1]
    scalers: dict[str, Any] = {"observation_scaler": data.standard_observation_scaler()}
    if not discrete:
        scalers["action_scaler"] = d3rlpy.preprocessing.MinMaxActionScaler(
            minimum=data.metadata.action_space.low,  # type: ignore[attr-defined]
            maximum=data.metadata.action_space.high,  # type: ignore[attr-defined]
        )
    return factory(**{**scalers, **overrides})
