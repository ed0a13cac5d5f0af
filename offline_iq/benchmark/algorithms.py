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

__all__ = ["ALGORITHMS", "make_config"]

ConfigFactory = Callable[..., LearnableConfig]

# name -> (discrete factory, continuous factory)
ALGORITHMS: dict[str, tuple[ConfigFactory, ConfigFactory]] = {
    "iq": (DiscreteIQLearnConfig, IQLearnConfig),
    "bc": (d3rlpy.algos.DiscreteBCConfig, d3rlpy.algos.BCConfig),
    "valuedice": (DiscreteValueDICEConfig, ValueDICEConfig),
}


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
