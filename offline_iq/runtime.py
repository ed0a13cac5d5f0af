"""Process-wide runtime settings: torch CPU threads.

On a 2-core machine torch's default of 2 intra-op threads makes small-MLP training 10-30x slower
than one thread (measured here: ~4 ms vs 44-136 ms per step), so ``offline_iq`` sets one thread
when it is imported. Override with the ``OFFLINE_IQ_TORCH_THREADS`` environment variable or by
calling :func:`set_torch_threads` (the CLI's ``--threads``).
"""

from __future__ import annotations

import logging
import os

import structlog
import torch

THREADS_ENV_VAR = "OFFLINE_IQ_TORCH_THREADS"
DEFAULT_TORCH_THREADS = 1


def default_torch_threads() -> int:
    """Threads to use: ``$OFFLINE_IQ_TORCH_THREADS`` if set, else 1."""
    raw = os.environ.get(THREADS_ENV_VAR)
    if raw is None or raw == "":
        return DEFAULT_TORCH_THREADS
    try:
        value = int(raw)
    except ValueError as err:
        raise ValueError(f"{THREADS_ENV_VAR} must be a positive integer, got {raw!r}") from err
    if value < 1:
        raise ValueError(f"{THREADS_ENV_VAR} must be a positive integer, got {raw!r}")
    return value


def set_torch_threads(n_threads: int | None = None) -> int:
    """Set torch's intra-op CPU threads (default: :func:`default_torch_threads`); return it."""
    n = default_torch_threads() if n_threads is None else n_threads
    if n < 1:
        raise ValueError(f"n_threads must be >= 1, got {n}")
    torch.set_num_threads(n)
    return n


def quiet_d3rlpy(level: int = logging.WARNING) -> None:
    """Show only d3rlpy log records at ``level`` or above (its info lines flood a benchmark)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
