"""The ``offline-iq`` command line (typer)."""

from offline_iq.cli import (  # noqa: F401  (importing registers the commands)
    benchmark_cmd,
    datasets_cmd,
    experts_cmd,
    rewards_cmd,
    train_cmd,
    tune_cmd,
)
from offline_iq.cli.app import app, main

__all__ = ["app", "main"]
