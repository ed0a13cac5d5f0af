"""Gradient-step cost of every algorithm on the same data, relative to d3rlpy's BC.

Run: ``.venv/bin/python benchmarks/step_time.py [dataset]`` (default cartpole/expert-v0).
"""

from __future__ import annotations

import sys
import time

import d3rlpy

import offline_iq  # noqa: F401  (one torch thread, registers the algorithms)
from offline_iq.data import load_minari
from offline_iq.learners import ALGORITHMS, make_config
from offline_iq.runtime import quiet_d3rlpy


def ms_per_step(algo_name: str, dataset: str, steps: int = 300) -> float:
    data = load_minari(dataset, n_trajectories=5)
    algo = make_config(algo_name, data).create(device="cpu:0")
    logger = d3rlpy.logging.NoopAdapterFactory()
    algo.fit(data, n_steps=20, n_steps_per_epoch=20, show_progress=False, logger_adapter=logger)
    start = time.perf_counter()
    algo.fit(
        data, n_steps=steps, n_steps_per_epoch=steps, show_progress=False, logger_adapter=logger
    )
    return (time.perf_counter() - start) / steps * 1e3


def main() -> None:
    quiet_d3rlpy()
    dataset = sys.argv[1] if len(sys.argv) > 1 else "cartpole/expert-v0"
    times = {name: ms_per_step(name, dataset) for name in ALGORITHMS}
    print(f"{dataset}: ms per gradient step (batch 256, 1 thread), ratio to BC")
    for name, ms in times.items():
        print(f"  {name:10s} {ms:7.2f} ms  {ms / times['bc']:5.2f}x")


if __name__ == "__main__":
    main()
