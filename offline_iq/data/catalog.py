"""A summary of every dataset the loader can find (``offline-iq datasets``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from offline_iq.data.errors import DatasetFormatError
from offline_iq.data.sources import (
    find_dataset_ids,
    local_store,
    open_minari,
    resolve_data_path,
    shipped_datasets_dir,
)
from offline_iq.data.spaces import action_kind

__all__ = ["DatasetSummary", "dataset_action_kind", "list_datasets", "summarize_dataset"]


@dataclasses.dataclass(frozen=True)
class DatasetSummary:
    """One row of the dataset table; ``mean_return``/``std_return`` are over episodes."""

    dataset_id: str
    source: str  # "local" (Minari store) or "shipped" (the project's datasets/)
    env_id: str | None
    episodes: int
    steps: int
    mean_return: float
    std_return: float
    ref_min_score: float | None
    ref_max_score: float | None
    path: str


def dataset_action_kind(dataset: str | Path) -> str:
    """``"discrete"`` or ``"continuous"``: the action space of a dataset id or path."""
    return action_kind(open_minari(resolve_data_path(dataset)).action_space)


def summarize_dataset(data_path: Path, source: str) -> DatasetSummary:
    """Read one dataset's size, returns and reference scores."""
    dataset = open_minari(data_path)
    returns = np.array([float(np.sum(ep.rewards)) for ep in dataset.iterate_episodes()])
    if returns.size == 0:
        raise DatasetFormatError(f"dataset {dataset.id} at {data_path} has no episodes")
    meta = dataset.storage.metadata
    spec = dataset.env_spec
    return DatasetSummary(
        dataset_id=dataset.id,
        source=source,
        env_id=None if spec is None else spec.id,
        episodes=int(dataset.total_episodes),
        steps=int(dataset.total_steps),
        mean_return=float(returns.mean()),
        std_return=float(returns.std()),
        ref_min_score=_maybe_float(meta.get("ref_min_score")),
        ref_max_score=_maybe_float(meta.get("ref_max_score")),
        path=str(data_path),
    )


def list_datasets() -> tuple[list[DatasetSummary], list[str]]:
    """Summaries of the local and shipped datasets, and one message per unreadable dataset.

    A local dataset with the same id as a shipped one shadows it, as in :func:`load_minari`.
    """
    rows: list[DatasetSummary] = []
    problems: list[str] = []
    seen: set[str] = set()
    for source, root in (("local", local_store()), ("shipped", shipped_datasets_dir())):
        for dataset_id in find_dataset_ids(root):
            if dataset_id in seen:
                continue
            seen.add(dataset_id)
            try:
                rows.append(summarize_dataset(root / dataset_id / "data", source))
            except (DatasetFormatError, OSError) as err:
                problems.append(f"{dataset_id} ({source}): {err}")
    return rows, problems


def _maybe_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
