"""The typer app, its shared options and small formatting helpers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from offline_iq.runtime import set_torch_threads

app = typer.Typer(
    help="Imitation learning from logged Minari data: IQ-Learn, BC, ValueDICE.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
if not console.is_terminal:
    console.width = max(console.width, 150)


@app.callback()
def _common(
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="torch CPU threads (default 1, or $OFFLINE_IQ_TORCH_THREADS)."),
    ] = None,
) -> None:
    set_torch_threads(threads)


def fmt(value: float | None) -> str:
    """A number for a table, ``-`` when missing."""
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    """Console-script entry point."""
    app()
