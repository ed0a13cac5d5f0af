"""Shared fixtures: every test gets its own empty Minari store.

The suite runs on two pytest-xdist workers by default (``-n 2 --dist worksteal``, set in
:func:`pytest_cmdline_main` below rather than in ``addopts`` so that ``-p no:xdist`` still
works); pass ``-n 0`` or ``-p no:xdist`` for one process, ``-n N`` for another count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_WORKERS = 2  # the CI machine's cores; torch runs one thread per worker (offline_iq.runtime)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Default to ``-n 2 --dist worksteal`` when xdist is installed and ``-n`` was not given."""
    if hasattr(config, "workerinput"):  # an xdist worker (xdist resets its -n to None)
        return
    if not config.pluginmanager.hasplugin("xdist") or config.option.numprocesses is not None:
        return
    if config.option.usepdb or config.option.collectonly:
        return
    config.option.numprocesses = DEFAULT_WORKERS
    if config.option.dist == "no":
        # worksteal: an idle worker takes queued tests from the busy one, which suits the
        # uneven durations here (most tests take a second, the learning tests minutes)
        config.option.dist = "worksteal"
    # one BLAS/OpenMP thread per worker (inherited by the workers and the notebook kernels)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, deal the ``slow`` learning tests evenly over the workers' first shares.

    ``--dist worksteal`` first hands worker k the k-th of N consecutive shares of the collection,
    then idle workers take queued tests from the end of a busy one's share. Each share here opens
    with every N-th slow test (in collection order) and is filled up with fast ones, so every
    worker starts on long tests and the fast ones are left to even out the finish. Simulated with
    the measured durations (2 workers), this brings the slower worker's finish to within a few
    seconds of half the total; queuing the slow tests in collection order or all first does not.
    """
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:  # not an xdist worker: keep the collection order
        return
    n_workers = int(workerinput["workercount"])
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    fast = [item for item in items if item.get_closest_marker("slow") is None]
    ordered: list[pytest.Item] = []
    remaining = len(items)
    for k in range(n_workers):
        share = remaining // (n_workers - k)  # worksteal's first split, share by share
        remaining -= share
        mine = slow[k::n_workers]
        n_fast = max(0, share - len(mine))
        ordered += mine + fast[:n_fast]
        fast = fast[n_fast:]
    items[:] = ordered + fast  # every worker computes the same order, as xdist requires


@pytest.fixture(autouse=True)
def minari_store(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point ``MINARI_DATASETS_PATH`` at a fresh temporary folder."""
    root = tmp_path_factory.mktemp("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    yield root
