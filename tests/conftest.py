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
    """Under xdist, queue the ``slow`` learning tests first so that no long test starts last."""
    if hasattr(config, "workerinput"):  # every worker sorts the same way, as xdist requires
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def minari_store(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point ``MINARI_DATASETS_PATH`` at a fresh temporary folder."""
    root = tmp_path_factory.mktemp("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    yield root
