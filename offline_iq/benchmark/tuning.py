"""The tuning protocol: every learner gets the same small grid of configurations, scored on
tuning trajectories and tuning seeds that the reported benchmark never uses.

Protocol (``offline-iq tune``): for each dataset and learner, run every configuration of
:data:`TUNING_GRIDS` on trajectories drawn from the ``tuning`` episode pool (the first 20% of
the dataset's episodes; reports draw from the other 80%, ``--pool evaluation``) with seeds
:data:`TUNING_SEEDS` (reports use seeds 0, 1, ...), the same budget as the report. The chosen
configuration is the one with the highest mean normalised final score over those runs, the
first listed winning ties (each grid lists the learner's defaults first). The whole table and
the choice are written beside the results (``tuning.csv``, ``tuning.md``, ``choice.json``);
``offline-iq benchmark --configs choice.json`` runs the chosen configurations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from offline_iq.learners import learner_name

__all__ = [
    "TUNING_GRIDS",
    "TUNING_SEEDS",
    "CONTINUOUS_GRIDS",
    "choose",
    "read_choice",
    "tuning_grid",
    "tuning_markdown",
    "write_choice",
]

TUNING_SEEDS = (100, 101)


def _grid(**axes: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Every combination of ``axes`` (first values first)."""
    combos: list[dict[str, Any]] = [{}]
    for name, values in axes.items():
        combos = [{**c, name: v} for c in combos for v in values]
    return combos


# Where logged rows enter IQ-Learn's critic loss (``iq-logged``): in the chi2 penalty only (the
# expert rows keep the value term: soft BC on the expert plus zero-reward Bellman consistency on
# the logs, the online settings), or in the value term only (the penalty inside phi on expert
# rows: the logs estimate (1 - gamma) E[V(s0)] from many episodes)
LOGGED_FAMILIES: tuple[dict[str, Any], ...] = (
    {"value_objective": "value_expert", "chi2_on_mixture": True},
    {"value_objective": "value", "chi2_on_mixture": False},
)

# 8 configurations for IQ-Learn and BC with weight decay: learning rate x the learner's
# regulariser x network size (d3rlpy's default 256x256 against the 64x64 the paper uses offline
# on classic control). ValueDICE gets 4, at 64x64: its step costs about 4x IQ-Learn's on CPU
# (three networks, a gradient penalty), and it is the secondary baseline; a lighter tuning of a
# baseline can only flatter IQ-Learn, which the results say where ValueDICE is compared.
TUNING_GRIDS: dict[str, list[dict[str, Any]]] = {
    "iq": _grid(
        learning_rate=(1e-4, 3e-4), temperature=(0.01, 0.1), hidden_units=("256x256", "64x64")
    ),
    "bc-wd": _grid(
        learning_rate=(1e-3, 3e-4), weight_decay=(1e-3, 1e-2), hidden_units=("256x256", "64x64")
    ),
    "valuedice": _grid(
        actor_learning_rate=(1e-4, 1e-5), nu_learning_rate=(1e-3, 1e-4), hidden_units=("64x64",)
    ),
    "bc": [{}],  # d3rlpy's bare default, the reference BC: never tuned
    # with logged data (``offline-iq tune --logged``): where the logs enter IQ-Learn's loss
    # (:data:`LOGGED_FAMILIES`) x temperature x learning rate; BC on the demonstrations and the
    # logs with BC-with-weight-decay's grid
    "iq-logged": [
        {**family, **rest}
        for family in LOGGED_FAMILIES
        for rest in _grid(temperature=(0.01, 0.1), learning_rate=(1e-4, 3e-4))
    ],
    # DemoDICE: the paper's alpha (0.05) and a larger one x nu's gradient penalty (1e-4, the
    # default, and 10, which keeps nu bounded where sub-sampled expert states s' never appear
    # as a row's s); 4 configurations at 64x64, like ValueDICE and for the same reason (three
    # networks and a gradient penalty per step)
    "demodice": _grid(alpha=(0.05, 0.5), nu_gp_weight=(1e-4, 10.0), hidden_units=("64x64",)),
    "bc-logged": _grid(
        learning_rate=(1e-3, 3e-4), weight_decay=(1e-3, 1e-2), hidden_units=("256x256", "64x64")
    ),
}


# Continuous-action learners whose knobs are named differently: IQ-Learn has an actor and a critic
# learning rate (the critic's is tuned, from its default 3e-4; the actor's stays 1e-3). Every
# other learner (bc-wd, ValueDICE, DemoDICE, bc-logged) uses the same field names for both kinds.
CONTINUOUS_GRIDS: dict[str, list[dict[str, Any]]] = {
    "iq": _grid(
        critic_learning_rate=(3e-4, 1e-4),
        temperature=(0.01, 0.1),
        hidden_units=("256x256", "64x64"),
    ),
    "iq-logged": [
        {**family, **rest}
        for family in LOGGED_FAMILIES
        for rest in _grid(temperature=(0.01, 0.1), critic_learning_rate=(3e-4, 1e-4))
    ],
}


def tuning_grid(algo: str, action_kind: str) -> list[dict[str, Any]]:
    """The configurations tuned for learner ``algo`` on ``"discrete"`` or ``"continuous"`` actions.

    Both kinds get grids of the same size, so every learner's budget is the same on every task.
    """
    if action_kind not in ("discrete", "continuous"):
        raise ValueError(f"action_kind must be 'discrete' or 'continuous', got {action_kind!r}")
    if algo not in TUNING_GRIDS:
        raise ValueError(f"no tuning grid for {algo!r}; choose from {list(TUNING_GRIDS)}")
    if action_kind == "continuous" and algo in CONTINUOUS_GRIDS:
        return CONTINUOUS_GRIDS[algo]
    return TUNING_GRIDS[algo]


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``algo`` replaced by the learner's name (``iq-logged`` beside ``iq``)."""
    if "mode" not in frame.columns:
        return frame
    names = [learner_name(a, m) for a, m in zip(frame["algo"], frame["mode"], strict=True)]
    return frame.assign(algo=names)


def choose(frame: pd.DataFrame) -> dict[str, dict[str, dict[str, Any]]]:
    """``dataset -> algo -> options`` of the best mean ``final_normalized`` per learner.

    ``frame`` holds the tuning runs (``options`` as JSON); ties go to the earliest row.
    """
    means = (
        _named(frame)
        .assign(order=range(len(frame)))
        .groupby(["dataset", "algo", "options"], sort=False)
        .agg(score=("final_normalized", "mean"), order=("order", "min"))
        .reset_index()
        .sort_values(["dataset", "algo", "score", "order"], ascending=[True, True, False, True])
    )
    choice: dict[str, dict[str, dict[str, Any]]] = {}
    for (dataset, algo), part in means.groupby(["dataset", "algo"], sort=True):
        choice.setdefault(str(dataset), {})[str(algo)] = json.loads(part.iloc[0]["options"])
    return choice


def tuning_markdown(frame: pd.DataFrame) -> str:
    """Mean ± std normalised final score of every configuration, the chosen one marked."""
    choice = choose(frame)
    frame = _named(frame)
    lines = []
    grouped = frame.groupby(["dataset", "algo", "options"], sort=False)["final_normalized"]
    table = grouped.agg(["mean", "std", "count"]).reset_index()
    for (dataset, algo), part in table.groupby(["dataset", "algo"], sort=True):
        lines += [f"### {dataset} / {algo}", "", "| options | score | runs | chosen |"]
        lines.append("|---|---:|---:|:---:|")
        chosen = choice[str(dataset)][str(algo)]
        for row in part.itertuples():
            mark = "**x**" if json.loads(str(row.options)) == chosen else ""
            std = 0.0 if pd.isna(row.std) else float(row.std)
            lines.append(
                f"| `{row.options}` | {float(row.mean):.2f} ± {std:.2f} | {row.count} | {mark} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_choice(path: Path, choice: Mapping[str, Any], protocol: Mapping[str, Any]) -> Path:
    """``choice.json``: the protocol's settings and ``dataset -> algo -> options``."""
    path.write_text(json.dumps({"protocol": protocol, "choice": choice}, indent=2, sort_keys=True))
    return path


def read_choice(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The ``dataset -> algo -> options`` of a ``choice.json`` (a clear error if malformed)."""
    try:
        record = json.loads(Path(path).read_text())
        choice = record["choice"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a choice.json of `offline-iq tune`: {err}") from err
    if not isinstance(choice, dict) or not all(
        isinstance(v, dict) and all(isinstance(o, dict) for o in v.values())
        for v in choice.values()
    ):
        raise ValueError(f"{path}: 'choice' must map dataset -> algorithm -> options")
    return choice
