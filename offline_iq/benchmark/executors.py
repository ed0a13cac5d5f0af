"""Run benchmark cells: in-process, on local worker processes, or on a Ray cluster."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from offline_iq.benchmark.cells import Cell
from offline_iq.benchmark.runner import CellResult, run_cell
from offline_iq.runtime import set_torch_threads

__all__ = ["EXECUTORS", "run_cells"]

EXECUTORS = ("local", "ray")


def run_cells(
    cells: Sequence[Cell],
    *,
    executor: str = "local",
    workers: int = 2,
    address: str | None = None,
    device: str = "cpu:0",
    runner: Callable[[Cell, str], CellResult] = run_cell,
) -> Iterator[CellResult]:
    """Yield each cell's result as soon as it finishes (order of completion)."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose from {', '.join(EXECUTORS)}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if executor == "ray":
        yield from _run_ray(cells, workers, address, device, runner)
    elif workers == 1 or len(cells) <= 1:
        for cell in cells:
            yield runner(cell, device)
    else:
        context = multiprocessing.get_context("spawn")  # no forked torch state
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=set_torch_threads
        ) as pool:
            futures = [pool.submit(runner, cell, device) for cell in cells]
            for future in as_completed(futures):
                yield future.result()


def _run_ray(
    cells: Sequence[Cell],
    workers: int,
    address: str | None,
    device: str,
    runner: Callable[[Cell, str], CellResult],
) -> Iterator[CellResult]:
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            "--executor ray needs Ray: pip install -c constraints.txt -e '.[ray]'"
        ) from err
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else workers, log_to_driver=False)
    remote: Any = ray.remote(num_cpus=1)(runner)
    try:
        pending = [remote.remote(cell, device) for cell in cells]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()
