"""A benchmark grid: datasets x algorithms x number of expert trajectories x seeds."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

from offline_iq.learners import parse_algorithm
from offline_iq.preprocessing import check_scaler

__all__ = [
    "DEFAULT_ALGORITHMS",
    "DEFAULT_DATASETS",
    "DEFAULT_SUBSAMPLE",
    "DEFAULT_TRAJECTORIES",
    "Cell",
    "default_subsample",
    "make_grid",
]

DEFAULT_DATASETS = ("cartpole/expert-v0", "acrobot/expert-v0")
DEFAULT_ALGORITHMS = ("iq", "bc", "valuedice")
DEFAULT_TRAJECTORIES = (1, 3, 5, 10)
# the paper's protocol (reference settings): every 20th transition for CartPole, every 5th for
# Acrobot and LunarLander, all of them elsewhere
DEFAULT_SUBSAMPLE = {"cartpole": 20, "acrobot": 5, "lunarlander": 5}


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

    def key(self) -> str:
        return (
            f"{self.dataset}|{self.algo}|{self.mode}|n{self.n_trajectories}|k{self.subsample}"
            f"|s{self.seed}|t{self.steps}|e{self.eval_episodes}|o{self.scaler}"
        )


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
) -> list[Cell]:
    """Every combination, ordered so that each seed's cells come together (results fill in).

    An algorithm named ``<name>-online`` (e.g. ``iq-online``) gives online cells: ``steps``
    environment steps of ``fit_online`` with the selected trajectories as demonstrations.
    ``scaler`` is the observation scaler of every cell (see
    :func:`~offline_iq.preprocessing.observation_scaler`).
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
    parsed = [parse_algorithm(name) for name in algos]  # fails early on an unknown name
    cells = []
    for seed, dataset, n, (algo, mode) in itertools.product(seeds, datasets, trajectories, parsed):
        k = 1 if no_subsample else (subsample or default_subsample(dataset))
        cells.append(Cell(dataset, algo, n, seed, k, steps, eval_episodes, mode, scaler))
    return cells
