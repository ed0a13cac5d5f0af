"""Where datasets live: the user's Minari store, the datasets shipped in ``datasets/``, a path.

Ids resolve in order: the local Minari store (``$MINARI_DATASETS_PATH`` or ``~/.minari``), then
the datasets shipped with the project (``$OFFLINE_IQ_DATASETS_DIR`` or the repository's
``datasets/`` folder), then, only with ``download=True``, Minari's remote server.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import h5py
import minari
import numpy as np
from minari.dataset.minari_storage import MinariStorage, is_image_space
from minari.storage.datasets_root_dir import get_dataset_path

from offline_iq.data.errors import DatasetFormatError, DatasetNotFoundError

__all__ = [
    "find_dataset_ids",
    "local_store",
    "open_minari",
    "read_episodes",
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


class RawEpisode(NamedTuple):
    """One episode's arrays as Minari stores them (T+1 observations, T of everything else)."""

    id: int
    observations: Any
    actions: Any
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray


def read_episodes(dataset: minari.MinariDataset, episode_indices: Iterable[int]) -> Iterator[Any]:
    """Yield the given episodes of ``dataset``, one at a time, reading nothing else.

    Each item has the attributes of Minari's ``EpisodeData`` that the loader uses (``id``,
    ``observations``, ``actions``, ``rewards``, ``terminations``, ``truncations``) with the
    values Minari's storage decodes. An HDF5 dataset whose spaces Minari stores as plain arrays
    is read with h5py's low-level API (about half the time of h5py's ``dataset[()]``, which is
    most of Minari's own read); any other one (arrow storage, Dict/Tuple spaces, JPEG-encoded
    images) through Minari's storage. Infos are not read.

    Raises:
        OSError, KeyError: a missing or unreadable episode, as Minari's storage raises them.
    """
    storage = dataset.storage
    main = Path(storage.data_path) / _HDF5_FILE
    jpeg = bool(getattr(storage, "jpeg_encoding", True))
    if (
        getattr(storage, "FORMAT", None) == "hdf5"
        and main.is_file()
        and _plain_array_space(dataset.observation_space, jpeg)
        and _plain_array_space(dataset.action_space, jpeg)
    ):
        yield from _read_hdf5_episodes(main, episode_indices)
        return
    for raw in storage.get_episodes(episode_indices):
        yield RawEpisode(
            id=raw["id"],
            observations=raw["observations"],
            actions=raw["actions"],
            rewards=raw["rewards"],
            terminations=raw["terminations"],
            truncations=raw["truncations"],
        )


_HDF5_FILE = "main_data.hdf5"
_FIELDS = ("observations", "actions", "rewards", "terminations", "truncations")


def _plain_array_space(space: gym.Space[Any], jpeg_encoding: bool) -> bool:
    """Whether Minari's HDF5 storage keeps ``space`` as one dataset it reads with ``[()]``."""
    if isinstance(space, gym.spaces.Discrete | gym.spaces.MultiBinary):
        return True
    if isinstance(space, gym.spaces.Box):
        return not (jpeg_encoding and is_image_space(space))
    return False


def _read_hdf5_episodes(path: Path, episode_indices: Iterable[int]) -> Iterator[RawEpisode]:
    with h5py.File(path, "r") as file:
        for index in episode_indices:
            prefix = f"episode_{index}/"
            arrays = [_read_dataset(file.id, prefix + field) for field in _FIELDS]
            yield RawEpisode(index, *arrays)


def _read_dataset(file_id: Any, name: str) -> np.ndarray:
    """The whole dataset ``name`` as a new array of its own dtype (what ``dataset[()]`` gives)."""
    dataset = h5py.h5d.open(file_id, name.encode())
    out = np.empty(dataset.shape, dtype=dataset.dtype)
    if out.size:
        dataset.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
    return out


def read_metadata(data_path: Path) -> dict[str, Any]:
    """Minari's raw metadata.json of a dataset folder."""
    return MinariStorage.read_raw_metadata(data_path)
