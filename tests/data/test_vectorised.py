"""The vectorised loader agrees with the per-episode and per-transition definitions it replaces."""

from __future__ import annotations

import dataclasses
import runpy
from pathlib import Path
from typing import Any

import gymnasium as gym
import h5py
import minari
import numpy as np
import pytest
from d3rlpy.dataset import InfiniteBuffer
from minari.data_collector.episode_buffer import EpisodeBuffer

from offline_iq.data import (
    DatasetFormatError,
    ExpertReplayBuffer,
    TransitionArrays,
    TransitionEpisode,
    TransitionEpisodePicker,
    load_minari,
)
from offline_iq.data import sources as sources_module
from offline_iq.data.episodes import EpisodeTransitionBuffer, episode_from_minari
from offline_iq.data.sources import open_minari, read_episodes, resolve_data_path
from offline_iq.data.subset import draw_offsets, subsample_episode, subsample_rows
from tests.data.synthetic import EpisodeSpec, observation, write_dataset

# terminated and truncated episodes, a one-step episode of each kind
SPECS = [
    EpisodeSpec(7, True),
    EpisodeSpec(1, False),
    EpisodeSpec(12, False),
    EpisodeSpec(1, True),
    EpisodeSpec(9, True),
    EpisodeSpec(5, False),
]


def _reference_next_actions(episodes: list[TransitionEpisode]) -> np.ndarray:
    picker = TransitionEpisodePicker()
    rows = [picker(ep, i).next_action for ep in episodes for i in range(ep.size())]
    return np.stack(rows).astype(np.float32)


def _per_episode_reference(dataset_id: str, subsample: int, seed: int) -> list[TransitionEpisode]:
    """The episodes as the loader built them one by one before it was vectorised."""
    source = open_minari(resolve_data_path(dataset_id))
    episodes = [
        episode_from_minari(minari.dataset.episode_data.EpisodeData(**raw), *_spaces(source))
        for raw in source.storage.get_episodes(source.episode_indices)
    ]
    offsets = draw_offsets([ep.size() for ep in episodes], subsample, seed)
    return [
        subsample_episode(ep, subsample, offset)
        for ep, offset in zip(episodes, offsets, strict=True)
    ]


def _spaces(source: Any) -> tuple[gym.Space[Any], gym.Space[Any]]:
    return source.observation_space, source.action_space


@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize(("subsample", "seed"), [(1, 0), (3, 2)])
def test_loader_matches_per_episode_and_per_transition_reference(
    discrete: bool, subsample: int, seed: int
) -> None:
    write_dataset("synthetic/vec-v0", SPECS, discrete=discrete)
    buffer = load_minari("synthetic/vec-v0", subsample=subsample, seed=seed)
    reference = _per_episode_reference("synthetic/vec-v0", subsample, seed)
    arrays = buffer.transitions
    expected = TransitionArrays(
        observations=np.concatenate([ep.observations for ep in reference]),
        actions=np.concatenate([ep.actions for ep in reference]),
        rewards=np.concatenate([ep.rewards for ep in reference]),
        next_observations=np.concatenate([ep.next_observations for ep in reference]),
        next_actions=_reference_next_actions(reference),
        terminals=np.concatenate([ep.terminals for ep in reference]),
        episode_ids=np.concatenate(
            [np.full(ep.size(), ep.episode_id, dtype=np.int64) for ep in reference]
        ),
        timesteps=np.concatenate([ep.timesteps for ep in reference]),
    )
    for field in dataclasses.fields(TransitionArrays):
        got, want = getattr(arrays, field.name), getattr(expected, field.name)
        assert got.dtype == want.dtype and got.shape == want.shape, field.name
        np.testing.assert_array_equal(got, want, err_msg=field.name)
    if subsample == 1:  # a' is the next action inside an episode, zero at every episode's end
        ends = np.cumsum([s.length for s in SPECS]) - 1
        assert not arrays.next_actions[ends].any()
    else:
        assert not arrays.next_actions.any()
    assert len(buffer.episodes) == len(reference)
    for got_ep, want_ep in zip(buffer.episodes, reference, strict=True):
        assert isinstance(got_ep, TransitionEpisode)
        for field in dataclasses.fields(TransitionEpisode):
            a, b = getattr(got_ep, field.name), getattr(want_ep, field.name)
            if isinstance(b, np.ndarray):
                assert a.dtype == b.dtype and a.shape == b.shape
                np.testing.assert_array_equal(a, b)
            else:
                assert type(a) is type(b) and a == b, field.name
    # the episodes are views of the flat arrays, not copies
    assert np.shares_memory(buffer.episodes[-1].observations, arrays.observations)


def test_from_episodes_matches_the_picker_on_arbitrary_timesteps() -> None:
    rng = np.random.default_rng(0)
    episodes = []
    for k, (size, step) in enumerate([(5, 1), (1, 1), (6, 2), (4, 1), (3, 3)]):
        obs = rng.normal(size=(size, 2)).astype(np.float32)
        timesteps = np.arange(size) * step
        if k == 3:
            timesteps[2:] += 1  # a gap inside an episode: no a' across it
        episodes.append(
            TransitionEpisode(
                observations=obs,
                actions=rng.normal(size=(size, 2)).astype(np.float32),
                rewards=np.ones((size, 1), np.float32),
                next_observations=obs + 1,
                terminals=np.zeros((size, 1), np.float32),
                timesteps=timesteps,
                initial_observation=obs[0],
                episode_id=k,
                terminated=False,
                episode_length=size * step,
                episode_return=0.0,
            )
        )
    arrays = TransitionArrays.from_episodes(episodes)
    np.testing.assert_array_equal(arrays.next_actions, _reference_next_actions(episodes))
    assert arrays.next_actions.dtype == np.float32
    np.testing.assert_array_equal(arrays.episode_ids, np.repeat([0, 1, 2, 3, 4], [5, 1, 6, 4, 3]))


def test_subsample_rows_match_slicing_each_episode() -> None:
    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 30, size=40)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    for k in (1, 2, 5, 20):
        offsets = [int(rng.integers(0, min(k, int(n)))) for n in sizes]
        rows, new_bounds = subsample_rows(bounds, k, offsets)
        pairs = zip(bounds[:-1], bounds[1:], offsets, strict=True)
        expected = [np.arange(b0, b1)[off::k] for b0, b1, off in pairs]
        np.testing.assert_array_equal(rows, np.concatenate(expected))
        np.testing.assert_array_equal(np.diff(new_bounds), [len(e) for e in expected])


def test_transition_index_matches_d3rlpy_infinite_buffer() -> None:
    write_dataset("synthetic/index-v0", SPECS)
    episodes = list(load_minari("synthetic/index-v0").episodes)
    rows = ("observations", "actions", "rewards", "next_observations", "terminals", "timesteps")
    empty = dataclasses.replace(episodes[0], **{f: getattr(episodes[0], f)[:0] for f in rows})
    sequence = [episodes[0], empty, *episodes[1:], episodes[-1]]  # an empty and a repeated one
    ours = EpisodeTransitionBuffer(sequence)
    theirs = InfiniteBuffer()
    for episode in sequence:
        for i in range(episode.transition_count):
            theirs.append(episode, i)
    assert ours.transition_count == theirs.transition_count == len(ours) == len(theirs)
    assert list(ours.episodes) == list(theirs.episodes)
    for i in [*range(len(theirs)), -1, -len(theirs)]:
        got, want = ours[i], theirs[i]
        assert got[0] is want[0] and got[1] == want[1]
    with pytest.raises(IndexError):
        ours[len(theirs)]
    with pytest.raises(TypeError):
        ours.append(episodes[0], 0)


def test_buffer_from_episodes_equals_loaded_buffer() -> None:
    write_dataset("synthetic/rebuild-v0", SPECS, discrete=True)
    loaded = load_minari("synthetic/rebuild-v0", n_trajectories=4, seed=3, subsample=2)
    rebuilt = ExpertReplayBuffer(list(loaded.episodes), loaded.metadata)
    for field in dataclasses.fields(TransitionArrays):
        np.testing.assert_array_equal(
            getattr(rebuilt.transitions, field.name), getattr(loaded.transitions, field.name)
        )
    with pytest.raises(ValueError, match="transitions has"):
        ExpertReplayBuffer(
            list(loaded.episodes)[:2], loaded.metadata, transitions=loaded.transitions
        )


def _delete_episodes(data_dir: Path, keep: set[int]) -> None:
    with h5py.File(data_dir / "main_data.hdf5", "a") as file:
        for name in list(file):
            if int(name.split("_")[1]) not in keep:
                del file[name]


def test_a_subset_reads_only_its_episodes(
    minari_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dataset("synthetic/only-v0", SPECS)
    intact = load_minari("synthetic/only-v0", n_trajectories=2, seed=4)
    chosen = set(intact.metadata.subset.episode_positions)
    read: list[str] = []
    real_read = sources_module._read_dataset

    def spy(file_id: Any, name: str) -> np.ndarray:
        read.append(name)
        return real_read(file_id, name)

    monkeypatch.setattr(sources_module, "_read_dataset", spy)
    load_minari("synthetic/only-v0", n_trajectories=2, seed=4)
    assert {int(name.split("/")[0].split("_")[1]) for name in read} == chosen
    # with every other episode gone from the file, the subset still loads, identically
    _delete_episodes(minari_store / "synthetic/only-v0" / "data", keep=chosen)
    again = load_minari("synthetic/only-v0", n_trajectories=2, seed=4)
    np.testing.assert_array_equal(again.transitions.observations, intact.transitions.observations)
    np.testing.assert_array_equal(again.transitions.next_actions, intact.transitions.next_actions)
    with pytest.raises(DatasetFormatError, match="cannot read episodes"):
        load_minari("synthetic/only-v0")


@pytest.mark.parametrize("discrete", [False, True])
def test_direct_hdf5_read_equals_minari_storage(discrete: bool) -> None:
    dataset = write_dataset("synthetic/direct-v0", SPECS, discrete=discrete)
    indices = [4, 0, 2]
    ours = list(read_episodes(dataset, indices))
    theirs = list(dataset.storage.get_episodes(indices))
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs, strict=True):
        assert a.id == b["id"]
        for field in ("observations", "actions", "rewards", "terminations", "truncations"):
            x, y = getattr(a, field), b[field]
            assert x.dtype == y.dtype and x.shape == y.shape, field
            np.testing.assert_array_equal(x, y)


def test_dict_observations_go_through_minari_storage() -> None:
    space = gym.spaces.Dict(
        {"pos": gym.spaces.Box(-100, 100, (2,), np.float32), "cell": gym.spaces.Discrete(3)}
    )
    buffers = []
    for k, spec in enumerate(SPECS[:3]):
        steps = spec.length
        buffers.append(
            EpisodeBuffer(
                id=k,
                observations={
                    "pos": np.stack([observation(k, t)[:2] for t in range(steps + 1)]),
                    "cell": np.arange(steps + 1) % 3,
                },
                actions=np.arange(steps) % 2,
                rewards=[1.0] * steps,
                terminations=[spec.terminated and t == steps - 1 for t in range(steps)],
                truncations=[(not spec.terminated) and t == steps - 1 for t in range(steps)],
                infos={},
            )
        )
    minari.create_dataset_from_buffers(
        "synthetic/dict-v0",
        buffers,
        observation_space=space,
        action_space=gym.spaces.Discrete(2),
        description="dict",
        env="CartPole-v1",
        eval_env="CartPole-v1",
    )
    buffer = load_minari("synthetic/dict-v0")
    arrays, stored = buffer.transitions, buffer.metadata.observation_space

    def flat(k: int, t: int) -> np.ndarray:
        sample = {"pos": observation(k, t)[:2], "cell": t % 3}
        return np.asarray(gym.spaces.flatten(stored, sample), dtype=np.float32)

    np.testing.assert_array_equal(arrays.observations[0], flat(0, 0))
    np.testing.assert_array_equal(arrays.next_observations[6], flat(0, 7))
    np.testing.assert_array_equal(arrays.observations[8], flat(2, 0))  # after the 1-step one
    np.testing.assert_array_equal(arrays.next_actions[:8, 0], [1, 0, 1, 0, 1, 0, 0, 0])


def test_scale_benchmark_runs_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "load_scale.py"
    namespace = runpy.run_path(str(path))  # defines main() without running it
    args = ["--episodes", "4", "--steps", "30", "--repeats", "1", "--subset", "2"]
    namespace["main"]([*args, "--store", str(tmp_path / "store")])
    out = capsys.readouterr().out
    assert "4 episodes x 30 steps = 120 transitions" in out
    assert "ratio load_minari / h5py" in out and "ratio load_minari peak / raw" in out
    namespace["main"]([*args, "--store", str(tmp_path / "store")])  # reuses the stored dataset
    assert "wrote" not in capsys.readouterr().out
