"""Minari datasets as exactly aligned d3rlpy training data."""

from offline_iq.data.buffer import DatasetMetadata, ExpertReplayBuffer, TransitionArrays
from offline_iq.data.episodes import TransitionEpisode, TransitionEpisodePicker
from offline_iq.data.errors import DatasetFormatError, DatasetNotFoundError
from offline_iq.data.loader import load_minari
from offline_iq.data.sources import find_dataset_ids, shipped_datasets_dir
from offline_iq.data.subset import SubsetSpec

__all__ = [
    "DatasetFormatError",
    "DatasetMetadata",
    "DatasetNotFoundError",
    "ExpertReplayBuffer",
    "SubsetSpec",
    "TransitionArrays",
    "TransitionEpisode",
    "TransitionEpisodePicker",
    "find_dataset_ids",
    "load_minari",
    "shipped_datasets_dir",
]
