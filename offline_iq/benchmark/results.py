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
# columns of results files written by earlier versions (read, never appended to)
LEGACY_FIELDS = [
    "key", "dataset", "algo", "mode", "n_trajectories", "subsample", "seed", "steps",
    "eval_episodes", "scaler", "transitions", "final_return", "final_return_std", "best_return",
    "final_normalized", "best_normalized", "ref_min_score", "ref_max_score", "wall_time_s",
    "grad_steps_per_s",
]  # fmt: skip
LEGACY_UNSCALED = [f for f in LEGACY_FIELDS if f != "scaler"]
# columns of results files with curves and config digests but no logged-data column
UNLOGGED_FIELDS = [f for f in FIELDS if f != "logged"]
READ_ONLY = (LEGACY_FIELDS, LEGACY_UNSCALED, UNLOGGED_FIELDS)


def _upgrade(row: dict[str, str]) -> dict[str, str]:
    """An earlier version's row in today's columns. Without curves (the oldest files): its only
    evaluation is its final one, its config unrecorded (``config_id`` empty), drawn from every
    episode. Every earlier row was trained without logged data."""
    if "eval_steps" in row:
        return {**row, "logged": "none"}
    return {
        "logged": "none",
        **row,
        "scaler": row.get("scaler", "unrecorded"),
        "pool": "all",
        "options": "{}",
        "config_id": "",
        "eval_steps": row["steps"],
        "eval_returns": row["final_return"],
        "eval_normalized": row["final_normalized"],
        "version": "",
        "commit": "",
    }


class ResultsStore:
    """Append-only CSV of :class:`CellResult` rows; a row is written only once complete.

    Files of earlier versions (without curves or config digests) are read, their rows
    upgraded to today's columns, but never appended to (:meth:`check_appendable`).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _header(self) -> list[str] | None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None
        with self.path.open(newline="") as f:
            return next(csv.reader(f), None)

    def check_appendable(self) -> None:
        """Raise ``ValueError`` if the file holds results of another version."""
        header = self._header()
        if header is not None and header != FIELDS and header not in READ_ONLY:
            raise ValueError(
                f"{self.path} is not a results file of this toolkit (columns {header}); use "
                "another --out directory"
            )
        if header is not None and header != FIELDS:
            raise ValueError(
                f"{self.path} holds results of an earlier version (without curves, config "
                "digests or the logged-data column): `offline-iq summarize` reads it; write new "
                "runs to another --out"
            )

    def rows(self) -> list[dict[str, str]]:
        """Complete rows; a torn last line (a run killed mid-write) is skipped with a warning."""
        if not self.path.exists():
            return []
        with self.path.open(newline="") as f:
            reader = csv.DictReader(f)
            legacy = reader.fieldnames in READ_ONLY
            if reader.fieldnames != FIELDS and not legacy:
                raise ValueError(
                    f"{self.path} is not a results file of this toolkit (columns "
                    f"{reader.fieldnames}); use another --out directory"
                )
            rows = []
            for row in reader:
                if None in row.values() or None in row or any(v == "" for v in row.values()):
                    warnings.warn(f"skipping an incomplete row in {self.path}", stacklevel=2)
                    continue
                rows.append(_upgrade(row) if legacy else row)
        return rows

    def done_keys(self) -> set[str]:
        return {row["key"] for row in self.rows()}

    def append(self, result: CellResult) -> None:
        self.check_appendable()
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
