"""Where datasets live: the user's Minari store, the datasets shipped in ``datasets/``, a path.

Ids resolve in order: the local Minari store (``$MINARI_DATASETS_PATH`` or ``~/.minari``), then
the datasets shipped with the project (``$OFFLINE_IQ_DATASETS_DIR`` or the repository's
``datasets/`` folder), then, only with ``download=True``, Minari's remote server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import minari
from minari.dataset.minari_storage import MinariStorage
from minari.storage.datasets_root_dir import get_dataset_path

from offline_iq.data.errors import DatasetFormatError, DatasetNotFoundError

__all__ = [
    "find_dataset_ids",
    "local_store",
    "open_minari",
    "resolve_data_path",
    "shipped_datasets_dir",
]

SHIPPED_DIR_ENV_VAR = "OFFLINE_IQ_DATASETS_DIR"


def shipped_datasets_dir() -> Path:
    """The folder of shipped datasets (Minari's directory layout)."""
    override = os.environ.get(SHIPPED_DIR_ENV_VAR)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "datasets"


def find_dataset_ids(root: Path) -> list[str]:
    """Ids of the Minari datasets under ``root`` (a folder with ``<id>/data/metadata.json``)."""
    if not root.is_dir():
        return []
    found = [
        meta.parent.parent.relative_to(root).as_posix()
        for meta in root.glob("**/data/metadata.json")
    ]
    return sorted(found)


def local_store() -> Path:
    """The user's Minari store (``$MINARI_DATASETS_PATH`` or ``~/.minari/datasets``)."""
    return get_dataset_path()


def _data_path_for_id(dataset_id: str) -> Path | None:
    for root in (local_store(), shipped_datasets_dir()):
        candidate = root / dataset_id / "data"
        if (candidate / "metadata.json").is_file():
            return candidate
    return None


def _looks_like_path(dataset: str | os.PathLike[str]) -> bool:
    text = os.fspath(dataset)
    return (
        isinstance(dataset, os.PathLike)
        or text.startswith((".", "/", "~"))
        or (Path(text).exists())
    )


def resolve_data_path(dataset: str | os.PathLike[str], *, download: bool = False) -> Path:
    """Resolve an id or a path to a Minari ``data`` folder (the one holding metadata.json)."""
    if _looks_like_path(dataset):
        path = Path(os.fspath(dataset)).expanduser()
        if not path.exists():
            raise DatasetNotFoundError(f"no such dataset path: {path}")
        for candidate in (path, path / "data"):
            if (candidate / "metadata.json").is_file():
                return candidate
        raise DatasetNotFoundError(
            f"{path} is not a Minari dataset: expected {path / 'data' / 'metadata.json'}"
        )
    dataset_id = os.fspath(dataset)
    found = _data_path_for_id(dataset_id)
    if found is not None:
        return found
    if download:
        minari.download_dataset(dataset_id)
        found = _data_path_for_id(dataset_id)
        if found is None:
            raise DatasetNotFoundError(f"downloading {dataset_id!r} produced no local dataset")
        return found
    known = find_dataset_ids(local_store()) + find_dataset_ids(shipped_datasets_dir())
    listing = ", ".join(sorted(set(known))) or "none"
    raise DatasetNotFoundError(
        f"unknown dataset {dataset_id!r}: not in the local Minari store ({local_store()}) nor in "
        f"the shipped datasets ({shipped_datasets_dir()}). Local datasets: {listing}. "
        "Pass download=True to fetch it from Minari's server."
    )


def open_minari(data_path: Path) -> minari.MinariDataset:
    """Open a Minari dataset folder, turning unreadable files into :class:`DatasetFormatError`."""
    try:
        dataset = minari.MinariDataset(data_path)
        _check_hdf5(data_path)
    except DatasetFormatError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise DatasetFormatError(f"cannot read the Minari dataset at {data_path}: {err}") from err
    return dataset


def _check_hdf5(data_path: Path) -> None:
    main = data_path / "main_data.hdf5"
    if not main.exists():
        return  # another storage backend (arrow): Minari reads it
    try:
        with h5py.File(main, "r"):
            pass
    except OSError as err:
        raise DatasetFormatError(f"corrupt HDF5 file {main}: {err}") from err


def read_metadata(data_path: Path) -> dict[str, Any]:
    """Minari's raw metadata.json of a dataset folder."""
    return MinariStorage.read_raw_metadata(data_path)
