"""The command-line sources of the figure scripts: a run folder, a CSV the script wrote (every run
in it), or ``CSV::RUN`` (that run only), read in the order given."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def read_sources(
    sources: list[str],
    from_folder: Callable[[Path], T],
    from_csv: Callable[[Path, str | None], list[T]],
    folder_kind: str,
) -> list[T]:
    """``from_folder`` on each folder, ``from_csv(path, RUN or None)`` on each CSV; anything else
    stops with an error naming the path and ``folder_kind``."""
    items: list[T] = []
    for source in sources:
        path, sep, name = source.partition("::")
        if Path(path).is_dir() and not sep:
            items.append(from_folder(Path(path)))
        elif Path(path).is_file():
            items.extend(from_csv(Path(path), name if sep else None))
        else:
            raise SystemExit(f"{path} is neither a {folder_kind} nor a CSV")
    return items
