"""GridWorld reward recovery on random held-out maps: the recipe chosen on tuning maps only.

Maps come from :func:`offline_iq.envs.random_gridworld.random_gridworld` (5x5 to 8x8, sparse
random rewards, random start distributions, soft-optimal experts whose discount and temperature
are drawn and never shown to the learner), with 30 demonstrations each.

1. **Tuning**: every recipe of :data:`RECIPES` on the tuning maps (seeds 0-9); each fit is
   scored twice, on the raw recovered map (``raw``) and with the cells no demonstration
   visits set to the median recovered reward (``imputed``,
   :func:`~offline_iq.rewards.gridworld.impute_unvisited`). The (recipe, scoring) pair with
   the highest median Pearson is chosen (a recipe over twice as costly must win by more than
   0.02, see :func:`choose`).
2. **Evaluation**: the chosen pair on the evaluation maps (seeds 1000-1019), never looked at
   before; median and 10th percentile of the state-reward Pearson over all cells.

Resumable: every fit is appended to ``tuning.csv`` / ``evaluation.csv`` as it finishes and
skipped on a rerun. Run (nice, one torch thread):
``OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/gridworld_generalisation.py
[--out results/rewards/gridworld-generalisation] [--stage all|tuning|evaluation]``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from scipy.stats import pearsonr

from offline_iq.algos.discrete_iq import DiscreteIQLearnConfig
from offline_iq.envs.random_gridworld import GAMMA_RANGE, TEMPERATURE_RANGE, random_gridworld
from offline_iq.rewards.gridworld import (
    impute_unvisited,
    recover_state_rewards,
    reward_recovery_config,
)
from offline_iq.runtime import quiet_d3rlpy

TUNING_SEEDS = tuple(range(10))
EVALUATION_SEEDS = tuple(range(1000, 1020))
N_DEMOS = 30
FIT_SEED = 0
SCORINGS = ("raw", "imputed")
MARGIN = 0.02  # median Pearson an over-twice-as-costly recipe must win by (see choose)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One candidate: the arguments of ``reward_recovery_config`` and the run length."""

    name: str
    n_steps: int
    gamma: float = 0.9
    temperature: float = 0.1
    chi2_alpha: float = 0.2
    hidden_units: tuple[int, ...] | None = None  # None: d3rlpy's 256x256

    def config(self) -> DiscreteIQLearnConfig:
        """This recipe's learner config."""
        return reward_recovery_config(
            self.n_steps,
            gamma=self.gamma,
            temperature=self.temperature,
            chi2_alpha=self.chi2_alpha,
            hidden_units=self.hidden_units,
        )

    def describe(self) -> str:
        net = "256x256" if self.hidden_units is None else "x".join(map(str, self.hidden_units))
        return (
            f"gamma {self.gamma}, T {self.temperature}, chi2_alpha {self.chi2_alpha}, "
            f"MLP {net}, {self.n_steps} steps"
        )


# The shipped recipe (tuned on the shipped 5x5 grid) and a cheaper network with one change
# each: the learner's discount either way, and the chi2 regulariser either way. The fixed
# gamma and temperature are numbers of the recipe, not the experts' (drawn per map). gamma
# 0.95 was added after 0.85 scored below 0.9 on every tuning map seen so far (0-5).
RECIPES = (
    Recipe("small", 8_000, hidden_units=(64, 64)),
    Recipe("small-g0.85", 8_000, gamma=0.85, hidden_units=(64, 64)),
    Recipe("small-g0.95", 8_000, gamma=0.95, hidden_units=(64, 64)),
    Recipe("small-chi0.5", 8_000, chi2_alpha=0.5, hidden_units=(64, 64)),
    Recipe("small-chi0.1", 8_000, chi2_alpha=0.1, hidden_units=(64, 64)),
    Recipe("shipped", 20_000),  # the reward_recovery_config(20000); slowest, last
)
FIELDS = (
    "recipe", "map_seed", "size", "expert_gamma", "expert_temperature", "n_reward_cells",
    "visited", "pearson_raw", "pearson_imputed", "pearson_visited", "fit_seconds",
)  # fmt: skip


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _append(path: Path, row: dict[str, object]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def _fit(recipe: Recipe, map_seed: int) -> dict[str, object]:
    task = random_gridworld(map_seed)
    data = task.demonstrations(N_DEMOS)
    start = time.process_time()
    result = recover_state_rewards(
        data, seed=FIT_SEED, n_steps=recipe.n_steps, config=recipe.config()
    )
    return {
        "recipe": recipe.name,
        "map_seed": map_seed,
        "size": task.size,
        "expert_gamma": round(task.gamma, 4),
        "expert_temperature": round(task.temperature, 4),
        "n_reward_cells": len(task.reward_cells),
        "visited": f"{int(result.visited.sum())}/{task.size**2}",
        "pearson_raw": round(result.pearson, 4),
        "pearson_imputed": round(result.pearson_imputed, 4),
        "pearson_visited": round(result.pearson_visited, 4),
        "fit_seconds": round(time.process_time() - start, 1),
    }


def _run(path: Path, recipes: Sequence[Recipe], seeds: Sequence[int], tag: str) -> None:
    done = {(row["recipe"], int(row["map_seed"])) for row in _read(path)}
    for seed in seeds:  # map by map, so that recipes can be compared early
        for recipe in recipes:
            if (recipe.name, seed) in done:
                continue
            row = _fit(recipe, seed)
            _append(path, row)
            print(f"[{tag}] {recipe.name} map {seed} ({row['size']}x{row['size']}, "
                  f"visited {row['visited']}): Pearson raw {row['pearson_raw']:.3f}, imputed "
                  f"{row['pearson_imputed']:.3f}, visited cells {row['pearson_visited']:.3f} "
                  f"({row['fit_seconds']} s CPU)", flush=True)  # fmt: skip


def ceiling(map_seed: int) -> float:
    """Pearson of the true map with its unvisited cells set to the visited cells' median.

    What a recovery exact on every visited cell and neutral elsewhere would score: the
    demonstrations carry nothing about a cell they never reach (a lesser goal the expert
    passes by, a penalty it avoids).
    """
    task = random_gridworld(map_seed)
    data = task.demonstrations(N_DEMOS)
    true = task.true_rewards()
    cells = np.concatenate([data.transitions.observations, data.transitions.next_observations])
    visited = (cells.sum(axis=0) > 0).reshape(true.shape)
    return float(pearsonr(impute_unvisited(true, visited).ravel(), true.ravel()).statistic)


def _stats(values: Sequence[float]) -> tuple[float, float, float]:
    x = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)  # a flat map scores 0
    return float(np.median(x)), float(np.percentile(x, 10)), float(np.min(x))


def tuning_table(rows: list[dict[str, str]]) -> list[tuple[str, str, int, float, float, float]]:
    """``(recipe, scoring, n_maps, median, p10, min)`` for every recipe and scoring."""
    table = []
    for recipe in RECIPES:
        mine = [row for row in rows if row["recipe"] == recipe.name]
        if not mine:
            continue
        for scoring in SCORINGS:
            median, p10, low = _stats([float(row[f"pearson_{scoring}"]) for row in mine])
            table.append((recipe.name, scoring, len(mine), median, p10, low))
    return table


def choose(rows: list[dict[str, str]]) -> tuple[Recipe, str]:
    """The (recipe, scoring) with the highest median tuning Pearson, over complete recipes.

    A recipe costing over twice the CPU time of the cheapest must beat the best cheap one by
    more than :data:`MARGIN`: smaller differences are within one fit seed's noise (the four
    64x64 variants at gamma 0.9 span 0.543-0.555), and the evaluation budget is fixed.
    """
    complete = [t for t in tuning_table(rows) if t[2] == len(TUNING_SEEDS)]
    if not complete:
        raise RuntimeError("no recipe has been run on every tuning map")
    cost = {
        t[0]: float(np.mean([float(r["fit_seconds"]) for r in rows if r["recipe"] == t[0]]))
        for t in complete
    }
    cheap = [t for t in complete if cost[t[0]] <= 2.0 * min(cost.values())]
    best = max(complete, key=lambda t: (t[3], t[4]))
    best_cheap = max(cheap, key=lambda t: (t[3], t[4]))
    if best[3] - best_cheap[3] <= MARGIN:
        best = best_cheap
    return next(r for r in RECIPES if r.name == best[0]), best[1]


def summary(out: Path) -> str:
    """Write ``summary.md`` from the two CSVs and return it."""
    tuning = _read(out / "tuning.csv")
    lines = [
        "# GridWorld reward recovery on held-out random maps",
        "",
        f"Maps: `offline_iq.envs.random_gridworld.random_gridworld(seed)`, 5x5-8x8, 2-5 reward "
        f"cells, random start distributions, expert gamma U{list(GAMMA_RANGE)}, temperature "
        f"log-U{list(TEMPERATURE_RANGE)} (hidden from the learner), {N_DEMOS} demonstrations; "
        f"fit seed {FIT_SEED}. Pearson between the recovered and the true state reward over all "
        "cells (`raw`), with unvisited cells set to the median recovered reward (`imputed`), "
        "and over visited cells only. CPU seconds per fit on a shared core.",
        "",
        f"## Tuning (map seeds {TUNING_SEEDS[0]}-{TUNING_SEEDS[-1]})",
        "",
        "| recipe | settings | scoring | maps | median | 10th pct | min | CPU s/fit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, scoring, n, median, p10, low in tuning_table(tuning):
        recipe = next(r for r in RECIPES if r.name == name)
        secs = np.mean([float(r["fit_seconds"]) for r in tuning if r["recipe"] == name])
        lines.append(f"| {name} | {recipe.describe()} | {scoring} | {n} | {median:.3f} | "
                     f"{p10:.3f} | {low:.3f} | {secs:.0f} |")  # fmt: skip
    tuned = sorted({int(r["map_seed"]) for r in tuning})
    if tuned:
        median, p10, low = _stats([ceiling(seed) for seed in tuned])
        lines += ["", f"Ceiling on these {len(tuned)} maps (true reward on visited cells, median "
                  f"elsewhere; `ceiling` in the script): median {median:.3f}, 10th percentile "
                  f"{p10:.3f}, min {low:.3f}."]  # fmt: skip
    try:
        recipe, scoring = choose(tuning)
    except RuntimeError as err:
        lines += ["", f"No choice yet: {err}."]
        text = "\n".join(lines) + "\n"
        (out / "summary.md").write_text(text)
        return text
    chosen_rows = {r["map_seed"]: r for r in tuning if r["recipe"] == recipe.name}
    for other in RECIPES:
        mine = [r for r in tuning if r["recipe"] == other.name]
        if 0 < len(mine) < len(TUNING_SEEDS):
            seeds = [r["map_seed"] for r in mine]
            own = _stats([float(r[f"pearson_{scoring}"]) for r in mine])[0]
            same = _stats([float(chosen_rows[m][f"pearson_{scoring}"]) for m in seeds])[0]
            lines += ["", f"{other.name} ran on tuning maps {', '.join(seeds)} only (CPU "
                      f"budget): median {scoring} Pearson {own:.3f} there, against {same:.3f} "
                      f"for {recipe.name} on the same maps."]  # fmt: skip
    lines += ["", f"Chosen (highest median; a recipe over twice as costly must win by more "
              f"than {MARGIN}): **{recipe.name}** ({recipe.describe()}), scoring "
              f"**{scoring}**."]  # fmt: skip
    evaluation = [r for r in _read(out / "evaluation.csv") if r["recipe"] == recipe.name]
    if evaluation:
        values = [float(r[f"pearson_{scoring}"]) for r in evaluation]
        median, p10, low = _stats(values)
        raw = _stats([float(r["pearson_raw"]) for r in evaluation])
        vis = _stats([float(r["pearson_visited"]) for r in evaluation])
        first, last = EVALUATION_SEEDS[0], EVALUATION_SEEDS[-1]
        ceilings = {r["map_seed"]: ceiling(int(r["map_seed"])) for r in evaluation}
        top = _stats(list(ceilings.values()))
        lines += [
            "",
            f"## Evaluation (map seeds {first}-{last}, {len(evaluation)} of "
            f"{len(EVALUATION_SEEDS)} maps done)",
            "",
            f"**{scoring} Pearson: median {median:.3f}, 10th percentile {p10:.3f}, min "
            f"{low:.3f}** (acceptance: median >= 0.9 and 10th percentile >= 0.75).",
            f"Raw (all cells as the network gives them): median {raw[0]:.3f}, 10th percentile "
            f"{raw[1]:.3f}. Visited cells only: median {vis[0]:.3f}, 10th percentile "
            f"{vis[1]:.3f}. Ceiling (see above): median {top[0]:.3f}, 10th percentile "
            f"{top[1]:.3f}.",
            "",
            "| map | size | expert gamma | expert T | reward cells | visited | raw | imputed "
            "| visited only | ceiling |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in evaluation:
            lines.append(f"| {r['map_seed']} | {r['size']} | {r['expert_gamma']} | "
                         f"{r['expert_temperature']} | {r['n_reward_cells']} | {r['visited']} | "
                         f"{r['pearson_raw']} | {r['pearson_imputed']} | "
                         f"{r['pearson_visited']} | {ceilings[r['map_seed']]:.3f} |")  # fmt: skip
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="results/rewards/gridworld-generalisation")
    parser.add_argument("--stage", choices=("all", "tuning", "evaluation"), default="all")
    parser.add_argument("--recipes", nargs="*", help="tune only these (default: all)")
    args = parser.parse_args()
    quiet_d3rlpy()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.stage in ("all", "tuning"):
        recipes = [r for r in RECIPES if not args.recipes or r.name in args.recipes]
        slow = [r for r in recipes if r.name == "shipped"]  # after the others
        _run(out / "tuning.csv", [r for r in recipes if r not in slow], TUNING_SEEDS, "tuning")
        _run(out / "tuning.csv", slow, TUNING_SEEDS, "tuning")
    if args.stage in ("all", "evaluation"):
        recipe, scoring = choose(_read(out / "tuning.csv"))
        print(f"chosen: {recipe.name} ({recipe.describe()}), scoring {scoring}", flush=True)
        _run(out / "evaluation.csv", [recipe], EVALUATION_SEEDS, "evaluation")
    print(summary(out))


if __name__ == "__main__":
    main()
