"""The typer app, its shared options and small formatting helpers."""

from __future__ import annotations

import json
from typing import Annotated, Any

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


def parse_options(options: list[str], flag: str = "--option") -> dict[str, Any]:
    """``["absorbing=true", "chi2_alpha=0.1"]`` -> ``{"absorbing": True, "chi2_alpha": 0.1}``.

    Values are read as JSON (numbers, ``true``/``false``, ``null``), else kept as strings;
    ``flag`` names the option in the error.
    """
    parsed: dict[str, Any] = {}
    for item in options:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{flag} must look like KEY=VALUE, got {item!r}")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        parsed[key.strip()] = value
    return parsed


#: ``-e KEY=VALUE`` (repeatable): keywords for ``gym.make``, read by :func:`env_kwargs_from`
EnvKwargOption = Annotated[
    list[str] | None,
    typer.Option(
        "--env-kwarg",
        "-e",
        help="gym.make keyword KEY=VALUE (repeatable; JSON values), e.g. "
        "-e include_cfrc_ext_in_observation=false.",
    ),
]


def env_kwargs_from(values: list[str] | None) -> dict[str, Any] | None:
    """The ``-e`` values as ``gym.make`` keywords; ``None`` when none were given."""
    return parse_options(values, "--env-kwarg") if values else None


def fmt(value: float | None) -> str:
    """A number for a table, ``-`` when missing."""
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    """Console-script entry point."""
    app()
