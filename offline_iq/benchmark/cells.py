"""A benchmark grid: datasets x algorithms x number of expert trajectories x seeds.

A cell is identified by its key (:meth:`Cell.key`), which names the data (dataset, episode
pool, trajectories, sub-sampling, seed, and the logged dataset of a learner that uses logs),
the budget and its evaluation checkpoints, and a
digest of the learner's fully resolved config (:func:`~offline_iq.learners.config_digest`), so
two configurations never share a key.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from offline_iq.data import load_minari
from offline_iq.data.buffer import ExpertReplayBuffer
from offline_iq.learners import (
    config_digest,
    make_config,
    make_logged_config,
    make_online_config,
    parse_algorithm,
)
from offline_iq.preprocessing import check_scaler

__all__ = [
    "DEFAULT_ALGORITHMS",
    "DEFAULT_DATASETS",
    "DEFAULT_SUBSAMPLE",
    "DEFAULT_TRAJECTORIES",
    "POOLS",
    "Cell",
    "default_eval_at",
    "default_subsample",
    "make_grid",
    "pool_positions",
]

DEFAULT_DATASETS = ("cartpole/expert-v0", "acrobot/expert-v0")
DEFAULT_ALGORITHMS = ("iq", "bc", "bc-wd", "valuedice")
DEFAULT_TRAJECTORIES = (1, 3, 5, 10)
# the paper's protocol (reference settings): every 20th transition for CartPole, every 5th for
# Acrobot and LunarLander, all of them elsewhere
DEFAULT_SUBSAMPLE = {"cartpole": 20, "acrobot": 5, "lunarlander": 5}


# Episode pools: the first TUNING_FRACTION of a dataset's episodes (in dataset order) are for
# choosing configurations (``offline-iq tune``), the rest for reporting; "all" ignores the split.
POOLS = ("all", "tuning", "evaluation")
TUNING_FRACTION = 0.2


def pool_positions(pool: str, n_episodes: int) -> tuple[int, ...] | None:
    """Episode positions of ``pool`` in a dataset of ``n_episodes`` (``None``: all of them)."""
    if pool not in POOLS:
        raise ValueError(f"unknown episode pool {pool!r}; choose from {', '.join(POOLS)}")
    if pool == "all":
        return None
    cut = max(1, math.ceil(TUNING_FRACTION * n_episodes))
    if cut >= n_episodes:
        raise ValueError(f"{n_episodes} episodes are too few to split into tuning and evaluation")
    return tuple(range(cut)) if pool == "tuning" else tuple(range(cut, n_episodes))


def default_eval_at(steps: int) -> tuple[int, ...]:
    """Evaluation checkpoints of a budget: the 1-2-5 series from ``steps / 20`` up, and ``steps``.

    1,000 -> (50, 100, 200, 500, 1000); 20,000 -> (1000, 2000, 5000, 10000, 20000).
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    points = {steps}
    for exponent in range(len(str(steps)) + 1):
        for mantissa in (1, 2, 5):
            point = mantissa * 10**exponent
            if steps / 20 <= point < steps:
                points.add(point)
    return tuple(sorted(points))


def check_eval_at(eval_at: Sequence[int], steps: int) -> tuple[int, ...]:
    """``eval_at`` sorted, each in ``[1, steps]``, ending at ``steps`` (the headline)."""
    points = tuple(sorted(set(int(p) for p in eval_at)))
    if not points or points[0] < 1 or points[-1] != steps:
        raise ValueError(
            f"evaluation checkpoints must be positive and end at the budget ({steps}), got "
            f"{list(eval_at)}"
        )
    return points


def default_subsample(dataset: str) -> int:
    """Sub-sampling the paper uses for ``dataset`` (matched on the id's first part)."""
    head = dataset.replace("\\", "/").strip("/").split("/")[0].lower()
    return DEFAULT_SUBSAMPLE.get(head, 1)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One training run of the grid; :meth:`key` identifies it in the results CSV."""

    dataset: str
    algo: str
    n_trajectories: int
    seed: int
    subsample: int
    steps: int
    eval_episodes: int
    mode: str = "offline"
    scaler: str = "auto"
    pool: str = "all"
    eval_at: tuple[int, ...] = ()  # () = default_eval_at(steps)
    options: tuple[tuple[str, Any], ...] = ()  # learner overrides, sorted by name
    config_id: str = ""  # config_digest of the resolved config ("" before make_grid fills it)
    logged: str = ""  # the logged dataset of a ``logged``-mode cell ("" otherwise)

    @property
    def checkpoints(self) -> tuple[int, ...]:
        return self.eval_at or default_eval_at(self.steps)

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.options)

    def key(self) -> str:
        at = "-".join(map(str, self.checkpoints))
        return (
            f"{self.dataset}|{self.algo}|{self.mode}|n{self.n_trajectories}|k{self.subsample}"
            f"|s{self.seed}|t{self.steps}|e{self.eval_episodes}|o{self.scaler}"
            f"|p{self.pool}|a{at}|c{self.config_id}" + (f"|l{self.logged}" if self.logged else "")
        )

    def load(self) -> ExpertReplayBuffer:
        """The cell's expert subset."""
        return load_cell_data(
            self.dataset, self.n_trajectories, self.subsample, self.seed, self.pool
        )

    def load_logged(self) -> ExpertReplayBuffer:
        """The cell's logged dataset, every episode of it (a ``logged``-mode cell only)."""
        if not self.logged:
            raise ValueError(f"cell {self.key()} has no logged dataset")
        return _load_logged(self.logged)

    def make_config(self, data: ExpertReplayBuffer) -> Any:
        """The learner's config for ``data`` (online settings for online cells; scalers of the
        demonstrations and the logs together, and logged settings, for logged cells)."""
        if self.mode == "logged":
            logged = self.load_logged()
            return make_logged_config(self.algo, data, logged, scaler=self.scaler, **self.overrides)
        make = make_online_config if self.mode == "online" else make_config
        return make(self.algo, data, scaler=self.scaler, **self.overrides)

    def resolved(self) -> Cell:
        """This cell with ``config_id`` computed from its data and config."""
        return dataclasses.replace(self, config_id=config_digest(self.make_config(self.load())))


def load_cell_data(
    dataset: str, n_trajectories: int, subsample: int, seed: int, pool: str
) -> ExpertReplayBuffer:
    """``load_minari`` of a cell's subset, drawn from its episode pool."""
    positions = None if pool == "all" else pool_positions(pool, _episode_count(dataset))
    return load_minari(
        dataset, n_trajectories=n_trajectories, subsample=subsample, seed=seed, episodes=positions
    )


@functools.lru_cache(maxsize=4)
def _load_logged(dataset: str) -> ExpertReplayBuffer:
    return load_minari(dataset)


@functools.lru_cache(maxsize=64)
def _episode_count(dataset: str) -> int:
    return load_minari(dataset, n_trajectories=1).metadata.source_episodes


def options_tuple(options: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """Learner overrides as a hashable, order-free tuple (values must be JSON scalars)."""
    items = tuple(sorted((options or {}).items()))
    for name, value in items:
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise ValueError(f"option {name}={value!r} must be a number, string or boolean")
        json.dumps(value)
    return items


def make_grid(
    datasets: Sequence[str],
    algos: Sequence[str],
    trajectories: Sequence[int],
    seeds: Sequence[int],
    *,
    steps: int,
    eval_episodes: int,
    subsample: int | None = None,
    no_subsample: bool = False,
    scaler: str = "auto",
    pool: str = "all",
    eval_at: Sequence[int] | None = None,
    options: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    logged: Mapping[str, str] | None = None,
    resolve: bool = True,
) -> list[Cell]:
    """Every combination, ordered so that each seed's cells come together (results fill in).

    An algorithm named ``<name>-online`` (e.g. ``iq-online``) gives online cells: ``steps``
    environment steps of ``fit_online`` with the selected trajectories as demonstrations.
    ``scaler`` is the observation scaler of every cell (see
    :func:`~offline_iq.preprocessing.observation_scaler`). ``pool`` draws the trajectories from
    the ``tuning`` or ``evaluation`` episodes (:func:`pool_positions`); ``eval_at`` are the
    evaluation checkpoints (default :func:`default_eval_at`; the last is the budget).
    ``options[dataset][algo]`` are learner overrides (``offline-iq tune``'s choice); with
    ``resolve`` each cell's config digest is computed (loading its subset).
    ``logged[dataset]`` is the logged dataset that the learners using logs (``iq-logged``,
    ``bc-logged``, ``demodice``: mode ``logged``) take beside ``dataset``'s demonstrations; the
    other learners' cells do not depend on it (they are the same cells as without logs).
    """
    for name, values in (("trajectories", trajectories), ("seeds", seeds)):
        if not values:
            raise ValueError(f"{name} is empty")
    if any(n < 1 for n in trajectories):
        raise ValueError(f"numbers of trajectories must be >= 1, got {list(trajectories)}")
    if steps < 1 or eval_episodes < 1:
        raise ValueError("steps and eval_episodes must be >= 1")
    if subsample is not None and subsample < 1:
        raise ValueError(f"subsample must be >= 1, got {subsample}")
    check_scaler(scaler)
    pool_positions(pool, 2)  # fails early on an unknown pool
    points = check_eval_at(eval_at, steps) if eval_at else ()
    parsed = [parse_algorithm(name) for name in algos]  # fails early on an unknown name
    logged = dict(logged or {})
    if any(mode == "logged" for _, mode in parsed):
        missing = [d for d in datasets if not logged.get(d)]
        if missing:
            users = ", ".join(n for n, (_, m) in zip(algos, parsed, strict=True) if m == "logged")
            raise ValueError(
                f"{users} need logged data: give a logged dataset for {', '.join(missing)} "
                "(--logged)"
            )
    cells = []
    for seed, dataset, n, name, (algo, mode) in (
        (s, d, n, name, p)
        for s, d, n in itertools.product(seeds, datasets, trajectories)
        for name, p in zip(algos, parsed, strict=True)
    ):
        k = 1 if no_subsample else (subsample or default_subsample(dataset))
        chosen = options_tuple((options or {}).get(dataset, {}).get(name))
        cell = Cell(
            dataset,
            algo,
            n,
            seed,
            k,
            steps,
            eval_episodes,
            mode,
            scaler,
            pool,
            points,
            chosen,
            logged=logged[dataset] if mode == "logged" else "",
        )
        cells.append(cell.resolved() if resolve else cell)
    return cells
