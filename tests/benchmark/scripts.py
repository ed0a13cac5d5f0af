"""Import a script of ``benchmarks/`` as a module, as ``python benchmarks/NAME.py`` would see it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as module ``name`` (registered in ``sys.modules``, which
    dataclasses need), with ``benchmarks/`` on the path while it loads, for its sibling imports."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def curve_frame(
    returns: dict[int, float], policies: tuple[str, ...] = ("last", "ema_0.0001")
) -> pd.DataFrame:
    """A ``curve.csv`` table: each policy of ``policies`` scores ``returns[step]`` at each step."""
    rows = [[step, p, mean, 1.0, "[1.0]", 1.0] for step, mean in returns.items() for p in policies]
    return pd.DataFrame(rows, columns=["env_steps", "policy", "mean_return", "std", "returns",
                                       "seconds"])  # fmt: skip


def write_run_folder(
    root: Path,
    name: str,
    *,
    seed: int,
    returns: dict[int, float],
    policies: tuple[str, ...] = ("last", "ema_0.0001"),
    options: dict[str, object] | None = None,
    replay_capacity: int | None = None,
) -> Path:
    """A folder as ``benchmarks/online_stability.py`` leaves it: ``curve.csv`` (every policy of
    ``policies`` scoring ``returns[step]`` at each step) and ``state.json`` (Hopper-v5, one
    demonstration of ``hopper/expert-v0``, IQ-Learn, ``seed``, ``options``; ``replay_capacity``
    only where given, as in runs older than it)."""
    folder = root / name
    folder.mkdir()
    curve_frame(returns, policies).to_csv(folder / "curve.csv", index=False)
    state = {"dataset": "hopper/expert-v0", "algo": "iq", "demos": 1, "subsample": 1,
             "seed": seed, "online": "Hopper-v5", "options": options or {},
             "steps_done": max(returns)}  # fmt: skip
    if replay_capacity is not None:
        state["replay_capacity"] = replay_capacity
    (folder / "state.json").write_text(json.dumps(state))
    return folder
