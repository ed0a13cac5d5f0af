"""The results CSV: appended cell by cell, read back to resume and to report."""

from __future__ import annotations

import csv
import dataclasses
import os
import warnings
from pathlib import Path

import pandas as pd

from offline_iq.benchmark.runner import CellResult

__all__ = ["ResultsStore"]

FIELDS = [f.name for f in dataclasses.fields(CellResult)]


class ResultsStore:
    """Append-only CSV of :class:`CellResult` rows; a row is written only once complete."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def rows(self) -> list[dict[str, str]]:
        """Complete rows; a torn last line (a run killed mid-write) is skipped with a warning."""
        if not self.path.exists():
            return []
        with self.path.open(newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames != FIELDS:
                raise ValueError(
                    f"{self.path} is not a results file of this version (columns "
                    f"{reader.fieldnames}); use another --out directory"
                )
            rows = []
            for row in reader:
                if None in row.values() or None in row or any(v == "" for v in row.values()):
                    warnings.warn(f"skipping an incomplete row in {self.path}", stacklevel=2)
                    continue
                rows.append(row)
        return rows

    def done_keys(self) -> set[str]:
        return {row["key"] for row in self.rows()}

    def append(self, result: CellResult) -> None:
        new = not self.path.exists() or self.path.stat().st_size == 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(dataclasses.asdict(result))
            f.flush()
            os.fsync(f.fileno())

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows(), columns=FIELDS)
        for field in dataclasses.fields(CellResult):
            if field.type in ("int", "float"):
                frame[field.name] = pd.to_numeric(frame[field.name])
        return frame
