"""Random GridWorlds: seeded, in range, a soft-optimal expert, data the learners accept."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from offline_iq.data.buffer import ExpertReplayBuffer
from offline_iq.envs import GridWorldEnv
from offline_iq.envs.random_gridworld import (
    GAMMA_RANGE,
    SIZES,
    TEMPERATURE_RANGE,
    random_gridworld,
)


def test_seeded_and_in_range() -> None:
    assert random_gridworld(3) == random_gridworld(3)
    tasks = [random_gridworld(seed) for seed in range(30)]
    assert len({(t.size, t.reward_cells) for t in tasks}) == 30
    for task in tasks:
        assert SIZES[0] <= task.size <= SIZES[1]
        assert GAMMA_RANGE[0] <= task.gamma <= GAMMA_RANGE[1]
        assert TEMPERATURE_RANGE[0] <= task.temperature <= TEMPERATURE_RANGE[1]
        assert 2 <= len(task.reward_cells) <= 5 and task.reward_cells[0][2] > 0
        assert len({(r, c) for r, c, _ in task.reward_cells}) == len(task.reward_cells)
        assert all(0.25 <= abs(v) <= 1.0 for _, _, v in task.reward_cells)
        start = np.array(task.start_distribution)
        assert start.shape == (task.size**2,) and abs(start.sum() - 1.0) < 1e-9
        assert (start > 0).sum() >= task.size**2 / 4
    assert {t.size for t in tasks} == set(range(SIZES[0], SIZES[1] + 1))


def test_expert_is_soft_optimal() -> None:
    task = random_gridworld(1)
    grid = task.grid()
    p, r = grid.transition_matrix(), grid.reward_vector()
    q, policy = task.soft_optimal()
    # soft Bellman fixed point, written out: Q = r + gamma * P (T logsumexp(Q / T))
    v = task.temperature * logsumexp(q / task.temperature, axis=1)
    np.testing.assert_allclose(q, r[:, None] + task.gamma * p @ v, atol=1e-8)
    np.testing.assert_allclose(policy, softmax(q / task.temperature, axis=1), atol=1e-10)
    np.testing.assert_allclose(task.expert(0).policy, policy)


def test_start_distribution_and_env() -> None:
    task = random_gridworld(2)
    env = task.make_env()
    assert env.spec is not None and env.spec.max_episode_steps == 4 * task.size
    grid = env.unwrapped
    assert isinstance(grid, GridWorldEnv)
    np.testing.assert_array_equal(grid.state_rewards, task.true_rewards())
    allowed = set(np.flatnonzero(np.array(task.start_distribution) > 0).tolist())
    starts = {env.reset(seed=s)[0] for s in range(200)}
    assert starts <= allowed and len(starts) > 1
    with pytest.raises(ValueError, match="start_distribution"):
        GridWorldEnv(3, start_distribution=[1.0, 0.0])


def test_demonstrations_buffer() -> None:
    task = random_gridworld(4)
    data = task.demonstrations(5)
    assert isinstance(data, ExpertReplayBuffer)
    n_states = task.size**2
    steps = 4 * task.size
    assert len(data.transitions) == 5 * steps
    obs, nxt = data.transitions.observations, data.transitions.next_observations
    assert obs.shape == (5 * steps, n_states) and np.all(obs.sum(axis=1) == 1.0)
    grid = task.grid()
    s, s2 = obs.argmax(axis=1), nxt.argmax(axis=1)
    a = data.transitions.actions[:, 0].astype(int)
    assert all(grid.next_state(int(x), int(y)) == z for x, y, z in zip(s, a, s2, strict=True))
    np.testing.assert_allclose(data.transitions.rewards[:, 0], grid.reward_vector()[s])
    assert data.initial_observations.shape == (5, n_states)
    assert data.transitions.next_actions.shape == (5 * steps, 1)
    rebuilt = data.metadata.make_env()
    assert isinstance(rebuilt.unwrapped, GridWorldEnv) and rebuilt.unwrapped.size == task.size
    np.testing.assert_array_equal(
        task.demonstrations(5).transitions.actions, data.transitions.actions
    )
    assert isinstance(gym.make(data.metadata.env_spec).unwrapped, GridWorldEnv)  # type: ignore[arg-type]
