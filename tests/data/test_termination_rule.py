"""Goal or failure: whether the expert's terminations are goals is read off the whole source
dataset, so a drawn demonstration in which the Hopper expert falls does not turn the absorbing
state off (it did, and online IQ-Learn then learned to end its episodes)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import d3rlpy
import numpy as np
import pytest

from offline_iq.benchmark.cells import pool_positions
from offline_iq.data import load_minari
from offline_iq.data.loader import source_termination_fraction
from offline_iq.data.mixing import terminations_are_goals
from offline_iq.learners import absorbing_for, make_online_config


def test_a_falling_hopper_demonstration_keeps_the_absorbing_state() -> None:
    # seed 0 of the evaluation pool draws a 546-step episode that ends in a fall
    demo = load_minari("hopper/expert-v0", n_trajectories=1, seed=0,
                       episodes=pool_positions("evaluation", 25))  # fmt: skip
    assert demo.terminates and len(demo.transitions.rewards) == 546
    assert source_termination_fraction(demo.metadata.data_path) == pytest.approx(4 / 25)
    assert not terminations_are_goals(demo) and absorbing_for(demo)
    assert make_online_config("iq", demo).absorbing


@pytest.mark.parametrize(
    ("dataset", "goals"),
    [("acrobot/expert-v0", True), ("lunarlander/expert-v0", True),
     ("mountaincar/expert-v0", True), ("cartpole/expert-v0", False),
     ("halfcheetah/expert-v0", False)],
)  # fmt: skip
def test_goal_or_failure_per_task(dataset: str, goals: bool) -> None:
    demo = load_minari(dataset, n_trajectories=1)
    assert terminations_are_goals(demo) is goals and absorbing_for(demo) is not goals


def test_without_the_source_the_buffers_own_episodes_decide() -> None:
    # seed 0 of the evaluation pool, 1 of 1 drawn episodes falls: alone, it reads as a goal
    demo = load_minari("hopper/expert-v0", n_trajectories=1, seed=0,
                       episodes=pool_positions("evaluation", 25))  # fmt: skip
    demo.metadata = dataclasses.replace(demo.metadata, data_path="/nonexistent/hopper")
    assert source_termination_fraction("/nonexistent/hopper") is None
    assert terminations_are_goals(demo)
    # a plain d3rlpy buffer: 1 of 2 episodes terminates -> goals (half or more)
    episodes = [
        d3rlpy.dataset.Episode(
            observations=np.zeros((3, 2), np.float32), actions=np.zeros((3, 1), np.float32),
            rewards=np.zeros((3, 1), np.float32), terminated=ends,
        )
        for ends in (True, False)
    ]  # fmt: skip
    buffer = d3rlpy.dataset.ReplayBuffer(d3rlpy.dataset.InfiniteBuffer(), episodes=episodes)
    assert terminations_are_goals(buffer)
    buffer_none = d3rlpy.dataset.ReplayBuffer(
        d3rlpy.dataset.InfiniteBuffer(), episodes=[dataclasses.replace(episodes[1])]
    )
    assert not terminations_are_goals(buffer_none)


@pytest.mark.parametrize("dataset", ["hopper/expert-v0", "acrobot/expert-v0"])
def test_termination_fraction_reads_flags_as_whole_episodes_would(dataset: str) -> None:
    from offline_iq.data.sources import open_minari

    path = load_minari(dataset, n_trajectories=1).metadata.data_path
    assert (Path(path) / "main_data.hdf5").is_file()  # the flag-only path is the one taken
    source = open_minari(Path(path))
    ends = [bool(e["terminations"][-1]) for e in source.storage.get_episodes(
        source.episode_indices)]  # fmt: skip
    assert source_termination_fraction(path) == sum(ends) / len(ends)
