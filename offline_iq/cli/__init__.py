"""The ``offline-iq`` command line (typer)."""

from offline_iq.cli import benchmark_cmd, datasets_cmd, train_cmd  # noqa: F401  (registers)
from offline_iq.cli.app import app, main

__all__ = ["app", "main"]
