"""Bad input gets an error that names the problem; nothing is dropped silently."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import minari
import numpy as np
import pytest
from minari.data_collector.episode_buffer import EpisodeBuffer

from offline_iq.data import DatasetFormatError, DatasetNotFoundError, load_minari
from tests.data.synthetic import EpisodeSpec, episode_buffer, write_dataset


def _data_dir(store: Path, dataset_id: str) -> Path:
    return store / dataset_id / "data"


def test_unknown_id_lists_local_datasets() -> None:
    write_dataset("synthetic/known-v0", [EpisodeSpec(3, True)])
    with pytest.raises(
        DatasetNotFoundError, match=r"unknown dataset 'nope/none-v0'.*synthetic/known-v0"
    ):
        load_minari("nope/none-v0")


def test_path_that_is_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="is not a Minari dataset"):
        load_minari(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="no such dataset path"):
        load_minari(tmp_path / "missing")


def test_loads_from_a_path(minari_store: Path) -> None:
    write_dataset("synthetic/path-v0", [EpisodeSpec(3, True)])
    for path in (minari_store / "synthetic/path-v0", _data_dir(minari_store, "synthetic/path-v0")):
        assert len(load_minari(path).transitions) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_trajectories": 5}, "has only 2 episodes"),
        ({"n_trajectories": 0}, "n_trajectories must be >= 1"),
        ({"subsample": 0}, "subsample must be >= 1"),
    ],
)
def test_bad_subset_arguments(kwargs: dict[str, int], message: str) -> None:
    write_dataset("synthetic/args-v0", [EpisodeSpec(3, True), EpisodeSpec(2, False)])
    with pytest.raises(ValueError, match=message):
        load_minari("synthetic/args-v0", **kwargs)


def test_non_integer_subsample() -> None:
    write_dataset("synthetic/args2-v0", [EpisodeSpec(3, True)])
    with pytest.raises(TypeError, match="subsample must be an integer"):
        load_minari("synthetic/args2-v0", subsample=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["observations", "actions", "rewards"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_are_refused(field: str, bad: float) -> None:
    buffer = episode_buffer(0, EpisodeSpec(4, True), discrete=False)
    values = np.array(getattr(buffer, field), dtype=np.float32)
    values[2] = bad
    minari.create_dataset_from_buffers(
        "synthetic/nan-v0",
        [EpisodeBuffer(**{**buffer.__dict__, field: values})],
        observation_space=gym.spaces.Box(-np.inf, np.inf, (3,), np.float32),
        action_space=gym.spaces.Box(-np.inf, np.inf, (2,), np.float32),
        description="bad",
        env="CartPole-v1",
        eval_env="CartPole-v1",
    )
    with pytest.raises(DatasetFormatError, match=rf"{field} contain NaN or inf.*step 2"):
        load_minari("synthetic/nan-v0")


def test_empty_dataset(minari_store: Path) -> None:
    write_dataset("synthetic/empty-v0", [EpisodeSpec(2, True)])
    meta_path = _data_dir(minari_store, "synthetic/empty-v0") / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["total_episodes"] = 0
    meta["total_steps"] = 0
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(DatasetFormatError, match="has no episodes"):
        load_minari("synthetic/empty-v0")


def test_corrupt_hdf5(minari_store: Path) -> None:
    write_dataset("synthetic/corrupt-v0", [EpisodeSpec(2, True)])
    (_data_dir(minari_store, "synthetic/corrupt-v0") / "main_data.hdf5").write_bytes(b"not hdf5")
    with pytest.raises(DatasetFormatError, match="corrupt HDF5"):
        load_minari("synthetic/corrupt-v0")


@pytest.mark.parametrize(
    ("space", "name"),
    [
        (gym.spaces.Text(5), "Text"),
        (gym.spaces.Dict({"a": gym.spaces.Text(3)}), "Text"),
        (
            gym.spaces.Tuple(
                (gym.spaces.Box(0, 1, (2,)), gym.spaces.Sequence(gym.spaces.Discrete(2)))
            ),
            "Sequence",
        ),
    ],
)
def test_unflattenable_observation_space(space: gym.Space[object], name: str) -> None:
    from offline_iq.data.spaces import check_observation_space

    with pytest.raises(DatasetFormatError, match=rf"{name} space cannot be flattened"):
        check_observation_space(space)


def test_unsupported_action_space() -> None:
    from offline_iq.data.spaces import action_kind

    with pytest.raises(DatasetFormatError, match="action_space is MultiDiscrete"):
        action_kind(gym.spaces.MultiDiscrete([2, 3]))


def test_discrete_actions_out_of_range_are_refused() -> None:
    from offline_iq.data.spaces import actions_to_array

    with pytest.raises(DatasetFormatError, match="action values outside Discrete"):
        actions_to_array(gym.spaces.Discrete(2), np.array([0, 1, 2]))
