"""Demonstrations plus logged data: the union buffer and the checks on the pair."""

from __future__ import annotations

import numpy as np
import pytest

from offline_iq.data import load_minari
from offline_iq.data.logged import check_logged, join_logged


def test_the_union_holds_both_and_the_statistics_of_every_state() -> None:
    expert = load_minari("cartpole/expert-v0", n_trajectories=2, seed=0)
    logged = load_minari("cartpole/random-v0")
    union = join_logged(expert, logged)
    assert len(union.transitions) == len(expert.transitions) + len(logged.transitions)
    assert len(union.episodes) == len(expert.episodes) + len(logged.episodes)
    assert union.metadata is expert.metadata  # environment and reference scores of the expert
    both = np.concatenate([expert.transitions.observations, logged.transitions.observations])
    mean, std = union.observation_statistics
    np.testing.assert_allclose(mean, both.mean(axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(std, both.std(axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(union.initial_observations[-1], logged.initial_observations[-1])


def test_logs_of_another_task_or_the_expert_data_itself_are_clear_errors() -> None:
    expert = load_minari("cartpole/expert-v0", n_trajectories=1)
    with pytest.raises(ValueError, match="from Acrobot-v1 but the demonstrations"):
        check_logged(expert, load_minari("acrobot/random-v0"))
    with pytest.raises(ValueError, match="is the expert dataset itself"):
        join_logged(expert, load_minari("cartpole/expert-v0", n_trajectories=2))
