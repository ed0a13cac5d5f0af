"""The learners ``offline-iq fit`` and the benchmark know, by short name, and their configs.

``bc`` is d3rlpy's own ``BCConfig`` / ``DiscreteBCConfig``; ``bc-wd`` is the same with weight
decay in its Adam optimiser (the strongest BC of "Rethinking ValueDice", Li et al. 2022). Every
learner accepts two options beyond its config fields (:data:`LEARNER_OPTIONS`):
``hidden_units`` (``"64x64"``: every encoder an MLP of those widths) and ``weight_decay``
(Adam's, on every network's optimiser). Every learner gets the same
observation scaler (statistics of the selected demonstrations, chosen by
:func:`~offline_iq.preprocessing.observation_scaler`; with logged data, of the demonstrations and
the logs together) so that only the learning method differs between them.

With logged data (:func:`make_logged_config`, ``offline-iq fit --logged``, the benchmark's
``--logged``): ``iq-logged`` is IQ-Learn with its ``LOGGED_SETTINGS`` and the logs as the policy
rows of every batch; ``bc-logged`` / ``bc-wd-logged`` are BC on the demonstrations and the logs
together; ``demodice`` is defined with logs and always takes them. Every config made here
passes :func:`~offline_iq.validation.check_field_types`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import d3rlpy
from d3rlpy.base import LearnableConfig

from offline_iq.algos import (
    DemoDICEConfig,
    DiscreteDemoDICEConfig,
    DiscreteIQLearnConfig,
    DiscreteValueDICEConfig,
    IQLearnConfig,
    ValueDICEConfig,
)
from offline_iq.algos.iq_config import IQLearnConfigBase
from offline_iq.data.buffer import ExpertReplayBuffer
from offline_iq.data.logged import join_logged
from offline_iq.data.mixing import terminations_are_goals
from offline_iq.preprocessing import observation_scaler
from offline_iq.validation import check_field_types

__all__ = [
    "ALGORITHMS",
    "ALGORITHM_OPTIONS",
    "BC_WEIGHT_DECAY",
    "LEARNER_OPTIONS",
    "config_digest",
    "learner_name",
    "LOGGED_ALGORITHMS",
    "LOGS_REQUIRED",
    "ONLINE_ALGORITHMS",
    "algorithm_names",
    "apply_learner_options",
    "make_config",
    "make_logged_config",
    "make_online_config",
    "parse_algorithm",
    "absorbing_for",
    "parse_hidden_units",
]

ConfigFactory = Callable[..., LearnableConfig]

# name -> (discrete factory, continuous factory)
ALGORITHMS: dict[str, tuple[ConfigFactory, ConfigFactory]] = {
    "iq": (DiscreteIQLearnConfig, IQLearnConfig),
    "bc": (d3rlpy.algos.DiscreteBCConfig, d3rlpy.algos.BCConfig),
    "bc-wd": (d3rlpy.algos.DiscreteBCConfig, d3rlpy.algos.BCConfig),
    "valuedice": (DiscreteValueDICEConfig, ValueDICEConfig),
    "demodice": (DiscreteDemoDICEConfig, DemoDICEConfig),
}

# Adam weight decay of ``bc-wd`` unless a tuning run (``offline-iq tune``) picks another; 1e-3 is
# the value of the CartPole probe, set before any tuning run of this toolkit
BC_WEIGHT_DECAY = 1e-3
# options a name implies before the caller's overrides
ALGORITHM_OPTIONS: dict[str, dict[str, Any]] = {"bc-wd": {"weight_decay": BC_WEIGHT_DECAY}}
# options every learner takes beside its config fields (see :func:`apply_learner_options`)
LEARNER_OPTIONS = ("hidden_units", "weight_decay")


# the learners with an online mode (BC learns offline)
ONLINE_ALGORITHMS = ("iq", "valuedice")
ONLINE_SUFFIX = "-online"
# the learners with a mode for demonstrations plus logged data (``<name>-logged``), and those
# whose method is defined with logged data (they always take it)
LOGGED_ALGORITHMS = ("iq", "bc", "bc-wd")
LOGS_REQUIRED: tuple[str, ...] = ("demodice",)
LOGGED_SUFFIX = "-logged"


def algorithm_names() -> list[str]:
    """Every name the benchmark accepts: ``iq``, ``bc``, ``iq-online``, ``iq-logged``, ..."""
    return [
        *ALGORITHMS,
        *(f"{name}{ONLINE_SUFFIX}" for name in ONLINE_ALGORITHMS),
        *(f"{name}{LOGGED_SUFFIX}" for name in LOGGED_ALGORITHMS),
    ]


def learner_name(algo: str, mode: str) -> str:
    """The inverse of :func:`parse_algorithm`: ``("iq", "logged")`` -> ``"iq-logged"``."""
    if mode == "offline" or (mode == "logged" and algo in LOGS_REQUIRED):
        return algo
    return f"{algo}-{mode}"


def parse_algorithm(name: str) -> tuple[str, str]:
    """``"iq"`` -> ``("iq", "offline")``; ``"iq-online"`` -> ``("iq", "online")``;
    ``"iq-logged"`` and the learners of :data:`LOGS_REQUIRED` -> mode ``"logged"``."""
    base, mode = name, "offline"
    if name.endswith(LOGGED_SUFFIX):
        base, mode = name[: -len(LOGGED_SUFFIX)], "logged"
        if base not in LOGGED_ALGORITHMS:
            logged = ", ".join(LOGGED_ALGORITHMS)
            raise ValueError(f"{base!r} has no logged-data mode ({logged} have)")
    elif name in LOGS_REQUIRED:
        mode = "logged"
    elif name.endswith(ONLINE_SUFFIX):
        base, mode = name[: -len(ONLINE_SUFFIX)], "online"
        if base not in ONLINE_ALGORITHMS:
            online = ", ".join(ONLINE_ALGORITHMS)
            raise ValueError(f"{base!r} has no online mode ({online} have; BC learns offline)")
    if base not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose from {', '.join(algorithm_names())}")
    return base, mode


def absorbing_for(demonstrations: ExpertReplayBuffer) -> bool:
    """Whether a learner trained on ``demonstrations`` should value terminations as failures.

    The absorbing state (``absorbing=True``) bootstraps a policy's termination from a value
    below any reachable one. That is right where the expert's episodes end by failure or the
    time limit (CartPole, Hopper) and wrong where they terminate at a goal (Acrobot, MountainCar,
    LunarLander), where the agent would learn to avoid it (Acrobot: -500 with it, measured in
    ``results/logged-v1``). Goal or failure is read off every episode of the source dataset
    (:func:`~offline_iq.data.mixing.terminations_are_goals`), not off the drawn demonstrations.
    Online and logged settings both decide by this rule.
    """
    return not terminations_are_goals(demonstrations)


def make_online_config(
    name: str, data: ExpertReplayBuffer, *, scaler: str = "auto", **overrides: Any
) -> LearnableConfig:
    """:func:`make_config` with the learner's online settings (IQ-Learn's ``ONLINE_SETTINGS``).

    The absorbing state is kept only where :func:`absorbing_for` says so, unless ``absorbing``
    is passed.
    """
    if name not in ONLINE_ALGORITHMS:
        raise ValueError(f"{name!r} has no online mode; choose from {', '.join(ONLINE_ALGORITHMS)}")
    factory = _factory(name, data)
    settings: dict[str, Any] = {}
    if isinstance(factory, type) and issubclass(factory, IQLearnConfigBase):
        # the scaler is chosen below, as for every learner
        settings = {k: v for k, v in factory.ONLINE_SETTINGS.items() if k != "observation_scaler"}
    if settings.get("absorbing"):
        settings["absorbing"] = absorbing_for(data)
    return _make(name, data, scaler, True, {**settings, **overrides})


def make_logged_config(
    name: str,
    data: ExpertReplayBuffer,
    logged: ExpertReplayBuffer,
    *,
    scaler: str = "auto",
    **overrides: Any,
) -> LearnableConfig:
    """:func:`make_config` for demonstrations ``data`` plus ``logged`` data: the observation
    scaler is fitted to both (:func:`~offline_iq.data.logged.join_logged`), and IQ-Learn takes
    its ``LOGGED_SETTINGS`` (:meth:`~offline_iq.algos.iq_config.IQLearnConfigBase.for_logged`)
    before ``overrides``, with the absorbing state where :func:`absorbing_for` says so (a logged
    termination is then a failure)."""
    union = join_logged(data, logged)
    factory = _factory(name, union)
    settings: dict[str, Any] = {}
    if isinstance(factory, type) and issubclass(factory, IQLearnConfigBase):
        settings = {k: v for k, v in factory.LOGGED_SETTINGS.items() if k != "observation_scaler"}
        settings["absorbing"] = absorbing_for(data)
    return _make(name, union, scaler, False, {**settings, **overrides})


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
    overrides = {**ALGORITHM_OPTIONS.get(name, {}), **overrides}
    options = {k: overrides.pop(k) for k in LEARNER_OPTIONS if k in overrides}
    unknown = sorted(set(overrides) - _field_names(factory))
    if unknown:
        raise ValueError(f"{name} has no field {', '.join(map(repr, unknown))}")
    config = factory(**{**scalers, **_decode_serialised(factory, overrides)})
    check_field_types(config)
    return apply_learner_options(config, options)


def _decode_serialised(factory: ConfigFactory, overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` with each dict given for a factory field (encoders, optimisers, Q functions,
    scalers) built from d3rlpy's serialised form, ``{"type": NAME, "params": {...}}``: what
    ``-o 'critic_encoder_factory={"type": "vector", "params": {"use_layer_norm": true}}'``
    passes on the command line."""
    fields = _fields(factory)
    decoded = dict(overrides)
    for key, value in overrides.items():
        decoder = fields[key].metadata.get("dataclasses_json", {}).get("decoder")
        if not isinstance(value, dict) or decoder is None:
            continue
        try:
            decoded[key] = decoder(value)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f'{key} must be d3rlpy\'s serialised form {{"type": NAME, "params": {{...}}}} '
                f"with a registered NAME and that type's parameters, got {value!r} ({error!r})"
            ) from error
        known = {f.name for f in dataclasses.fields(decoded[key])}
        unknown = sorted(set(value.get("params", {})) - known)
        if unknown:
            raise ValueError(
                f"{key}: {value['type']!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"it has {', '.join(sorted(known)) or 'none'}"
            )
    return decoded


def _fields(factory: ConfigFactory) -> dict[str, dataclasses.Field[Any]]:
    fields: dict[str, dataclasses.Field[Any]] = getattr(factory, "__dataclass_fields__", {})
    return fields


def _field_names(factory: ConfigFactory) -> set[str]:
    return set(_fields(factory))


def parse_hidden_units(value: Any) -> list[int]:
    """``"64x64"``, ``"64,64"``, ``64`` (one layer) or ``[64, 64]`` -> ``[64, 64]``."""
    if isinstance(value, bool):
        raise ValueError(f"hidden_units must be widths like '64x64', got {value!r}")
    if isinstance(value, int):
        parts: list[Any] = [value]
    elif isinstance(value, str):
        parts = value.replace(",", "x").split("x")
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        raise ValueError(f"hidden_units must be widths like '64x64', got {value!r}")
    try:
        widths = [int(p) for p in parts]
    except (TypeError, ValueError) as err:
        raise ValueError(f"hidden_units must be widths like '64x64', got {value!r}") from err
    if not widths or any(w < 1 for w in widths):
        raise ValueError(f"hidden_units must be positive widths like '64x64', got {value!r}")
    return widths


def apply_learner_options(config: Any, options: Mapping[str, Any]) -> Any:
    """``config`` with :data:`LEARNER_OPTIONS` applied to every encoder / network optimiser.

    ``hidden_units`` replaces each ``*encoder_factory`` with d3rlpy's ``VectorEncoderFactory`` of
    those widths (ReLU, as the default encoder); ``weight_decay`` sets Adam's weight decay in
    each ``*optim_factory`` but the temperature's (a scalar, not a network).
    """
    changes: dict[str, Any] = {}
    names = [f.name for f in dataclasses.fields(config)]
    if "hidden_units" in options:
        widths = parse_hidden_units(options["hidden_units"])
        for name in names:
            if name.endswith("encoder_factory"):
                changes[name] = d3rlpy.models.VectorEncoderFactory(hidden_units=widths)
    if "weight_decay" in options:
        decay = options["weight_decay"]
        if isinstance(decay, bool) or not isinstance(decay, int | float) or not decay >= 0:
            raise ValueError(f"weight_decay must be a number >= 0, got {decay!r}")
        for name in names:
            if name.endswith("optim_factory") and not name.startswith("temp"):
                factory = getattr(config, name)
                if not isinstance(factory, d3rlpy.optimizers.AdamFactory):
                    raise ValueError(f"weight_decay needs Adam, but {name} is {factory!r}")
                changes[name] = dataclasses.replace(factory, weight_decay=float(decay))
    return dataclasses.replace(config, **changes) if changes else config


# fitted statistics: they follow from the data subset, which a cell's key already names
_FITTED = ("mean", "std", "minimum", "maximum")
# config fields added after results were published, with the default at which a learner trains
# exactly as it did before the field existed (left out of config_digest at that default)
_LATER_FIELDS: dict[str, Any] = {
    "logged_bc_weight": 0.0,
    "policy_averaging": 0.0,
    "target_entropy": None,
    "expert_bc_weight": 0.0,
    "smoothness_weight": 0.0,
    "smoothness_sigma": 0.15,
}


def config_digest(config: Any) -> str:
    """Ten hex digits of SHA-256 over the fully resolved config: its class and every field
    (scalers, optimisers, encoders) as d3rlpy serialises them, without the observation
    scaler's fitted statistics. Two configs that differ in any setting differ here. Fields
    added after results were published (:data:`_LATER_FIELDS`) count only away from their
    default, which trains exactly as before they existed, so published cells keep their keys;
    ``expert_terminations`` counts only with ``absorbing`` on and away from ``"goal"``."""
    record = json.loads(config.serialize())
    scaler = record.get("observation_scaler", {})
    scaler["params"] = {k: v for k, v in scaler.get("params", {}).items() if k not in _FITTED}
    record["__class__"] = type(config).__qualname__
    for name, default in _LATER_FIELDS.items():
        if name in record and record[name] == default:
            del record[name]
    # expert_terminations (added later) acts only through the absorbing state; "goal" is how
    # absorbing expert rows trained before the field existed, so it too leaves the key alone
    if not record.get("absorbing", False) or record.get("expert_terminations") == "goal":
        record.pop("expert_terminations", None)
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]
