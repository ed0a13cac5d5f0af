"""Dataset resolution: local store, shipped folder, and the remote path (with a local fake)."""

from __future__ import annotations

import shutil
from pathlib import Path

import d3rlpy
import minari
import numpy as np
import pytest

from offline_iq.data import DatasetNotFoundError, load_minari
from tests.data.synthetic import EpisodeSpec, write_dataset


def test_remote_id_downloads_only_when_asked(
    minari_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Build the "remote" copy in another store, then serve it with a fake downloader.
    remote_store = tmp_path / "remote"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(remote_store))
    write_dataset("remote/thing-v0", [EpisodeSpec(5, True), EpisodeSpec(4, False)])
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(minari_store))
    calls: list[str] = []

    def fake_download(dataset_id: str, force_download: bool = False) -> None:
        calls.append(dataset_id)
        shutil.copytree(remote_store / dataset_id, minari_store / dataset_id)

    monkeypatch.setattr(minari, "download_dataset", fake_download)
    with pytest.raises(DatasetNotFoundError, match="download=True"):
        load_minari("remote/thing-v0")
    assert calls == []
    buffer = load_minari("remote/thing-v0", download=True)
    assert calls == ["remote/thing-v0"] and len(buffer.transitions) == 9
    load_minari("remote/thing-v0", download=True)  # now local: no second download
    assert calls == ["remote/thing-v0"]


def test_shipped_folder_is_found_without_minari_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = tmp_path / "shipped"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(shipped))
    write_dataset("ship/one-v0", [EpisodeSpec(3, True)])
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "empty-store"))
    monkeypatch.setenv("OFFLINE_IQ_DATASETS_DIR", str(shipped))
    assert len(load_minari("ship/one-v0").transitions) == 3


def test_metadata_is_reachable() -> None:
    write_dataset(
        "synthetic/meta-v0",
        [EpisodeSpec(3, True), EpisodeSpec(2, False)],
        ref_min_score=-10.0,
        ref_max_score=30.0,
    )
    buffer = load_minari("synthetic/meta-v0")
    meta = buffer.metadata
    assert meta.dataset_id == "synthetic/meta-v0"
    assert meta.env_spec is not None and meta.env_spec.id == "CartPole-v1"
    assert (meta.ref_min_score, meta.ref_max_score) == (-10.0, 30.0)
    assert meta.normalize_score(10.0) == pytest.approx(0.5)
    assert meta.source_episodes == 2 and meta.source_steps == 5
    assert [ep.compute_return() for ep in buffer.episodes] == pytest.approx([0.003, 1 * 2 + 0.001])
    env = meta.make_env()
    assert env.spec is not None and env.spec.id == "CartPole-v1"


def test_read_only_buffer_refuses_appends() -> None:
    write_dataset("synthetic/ro-v0", [EpisodeSpec(3, True)])
    buffer = load_minari("synthetic/ro-v0")
    with pytest.raises(TypeError, match="create_fifo_replay_buffer"):
        buffer.append(np.zeros(3), np.zeros(2), 0.0)


@pytest.mark.parametrize("discrete", [False, True])
def test_d3rlpy_algorithms_train_on_it(discrete: bool, tmp_path: Path) -> None:
    write_dataset(
        "synthetic/fit-v0", [EpisodeSpec(30, True), EpisodeSpec(25, False)], discrete=discrete
    )
    buffer = load_minari("synthetic/fit-v0")
    config = d3rlpy.algos.DiscreteBCConfig() if discrete else d3rlpy.algos.BCConfig()
    algo = config.create(device="cpu:0")
    algo.fit(
        buffer,
        n_steps=20,
        n_steps_per_epoch=10,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
        show_progress=False,
    )
    action = algo.predict(buffer.transitions.observations[:4])
    assert action.shape == ((4,) if discrete else (4, 2))
    if discrete:
        assert algo.impl is not None and algo.action_size == 3  # from the space, not the data
