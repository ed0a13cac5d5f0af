"""GridWorld dynamics and rewards, exact soft value iteration, and the soft-optimal expert."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from scipy.special import logsumexp

from offline_iq.envs import (
    GRIDWORLD_10X10_ID,
    GRIDWORLD_ENV_IDS,
    GRIDWORLD_ID,
    GridWorldEnv,
    SoftOptimalPolicy,
    register_envs,
    soft_value_iteration,
)
from offline_iq.envs.gridworld import DEFAULT_REWARD_CELLS_10X10
from offline_iq.experts.controllers import (
    SUPPORTED_EXPERT_ENVS,
    ExpertPolicy,
    make_expert,
    make_random_policy,
    rollout_returns,
)

UP, DOWN, LEFT, RIGHT, STAY = range(5)


def _grid(env_id: str = GRIDWORLD_ID, **kwargs: Any) -> GridWorldEnv:
    env = gym.make(env_id, **kwargs).unwrapped
    assert isinstance(env, GridWorldEnv)
    return env


def test_registration() -> None:
    assert gym.spec(GRIDWORLD_ID).max_episode_steps == 20
    assert gym.spec(GRIDWORLD_10X10_ID).max_episode_steps == 40
    assert set(GRIDWORLD_ENV_IDS) <= set(SUPPORTED_EXPERT_ENVS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # re-registering would warn "Overriding environment"
        register_envs()
    grid = _grid(GRIDWORLD_10X10_ID)
    assert grid.size == 10
    assert grid.observation_space == gym.spaces.Discrete(100)
    assert grid.action_space == gym.spaces.Discrete(5)


@pytest.mark.parametrize(
    ("cell", "action", "expected"),
    [
        ((2, 2), UP, (1, 2)),
        ((2, 2), DOWN, (3, 2)),
        ((2, 2), LEFT, (2, 1)),
        ((2, 2), RIGHT, (2, 3)),
        ((2, 2), STAY, (2, 2)),
        ((0, 0), UP, (0, 0)),
        ((0, 0), LEFT, (0, 0)),
        ((0, 3), UP, (0, 3)),
        ((4, 4), DOWN, (4, 4)),
        ((4, 4), RIGHT, (4, 4)),
        ((3, 0), LEFT, (3, 0)),
        ((4, 0), RIGHT, (4, 1)),
    ],
)
def test_moves_and_walls(cell: tuple[int, int], action: int, expected: tuple[int, int]) -> None:
    env = gym.make(GRIDWORLD_ID)
    grid = env.unwrapped
    assert isinstance(grid, GridWorldEnv)
    start = cell[0] * 5 + cell[1]
    observation, _ = env.reset(seed=0, options={"state": start})
    assert observation == start
    observation, _, terminated, truncated, _ = env.step(action)
    assert grid.cell(observation) == expected
    assert grid.next_state(start, action) == observation
    assert not terminated and not truncated


def test_reward_maps() -> None:
    grid = _grid()
    expected = np.zeros((5, 5))
    expected[0, 0] = expected[0, 4] = expected[4, 4] = 1.0
    np.testing.assert_array_equal(grid.state_rewards, expected)
    np.testing.assert_array_equal(grid.reward_vector(), expected.ravel())

    big = _grid(GRIDWORLD_10X10_ID)
    assert big.state_rewards.shape == (10, 10)
    positive = sorted(float(v) for v in big.state_rewards[big.state_rewards > 0])
    assert positive == [0.3, 0.6, 1.0]
    assert (big.state_rewards < 0).sum() == 12
    for row, col, value in DEFAULT_REWARD_CELLS_10X10:
        assert big.state_rewards[row, col] == value

    custom = _grid(reward_cells=[[1, 2, 0.5]], default_reward=-0.1)
    assert custom.state_rewards[1, 2] == 0.5 and custom.state_rewards[0, 0] == -0.1
    with pytest.raises(ValueError):
        GridWorldEnv(size=5, reward_cells=[(5, 0, 1.0)])


def test_reward_is_for_the_current_cell() -> None:
    env = gym.make(GRIDWORLD_ID)
    env.reset(seed=0, options={"state": 0})  # top-left corner, reward +1
    _, reward, *_ = env.step(DOWN)  # leaving it still earns the corner's reward
    assert reward == 1.0
    _, reward, *_ = env.step(UP)  # acting in (1, 0) earns 0, even when moving into the corner
    assert reward == 0.0
    _, reward, *_ = env.step(STAY)
    assert reward == 1.0


@pytest.mark.parametrize("env_id", GRIDWORLD_ENV_IDS)
def test_transition_matrix_agrees_with_step(env_id: str) -> None:
    env = gym.make(env_id)
    grid = env.unwrapped
    assert isinstance(grid, GridWorldEnv)
    p, r = grid.transition_matrix(), grid.reward_vector()
    n_states = grid.size**2
    assert p.shape == (n_states, 5, n_states) and r.shape == (n_states,)
    np.testing.assert_allclose(p.sum(axis=2), 1.0)
    for s in range(n_states):
        for a in range(5):
            env.reset(options={"state": s})
            observation, reward, *_ = env.step(a)
            assert p[s, a, observation] == 1.0
            assert reward == r[s]


@pytest.mark.parametrize("env_id", GRIDWORLD_ENV_IDS)
def test_episodes_truncate_and_never_terminate(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=1)
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
    assert not terminated and truncated
    assert steps == gym.spec(env_id).max_episode_steps


def test_seeded_random_start() -> None:
    first = [gym.make(GRIDWORLD_ID).reset(seed=s)[0] for s in range(200)]
    again = [gym.make(GRIDWORLD_ID).reset(seed=s)[0] for s in range(200)]
    assert first == again
    assert set(first) == set(range(25))  # uniform over all cells: 200 draws cover all 25

    env = gym.make(GRIDWORLD_ID)
    env.reset(seed=5)
    stream = [env.reset()[0] for _ in range(10)]
    env.reset(seed=5)
    assert stream == [env.reset()[0] for _ in range(10)]


def test_env_checker_passes() -> None:
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # render_mode=None notices
        check_env(GridWorldEnv(size=5), skip_render_check=True)


@pytest.mark.parametrize(("gamma", "temperature"), [(0.9, 1.0), (0.99, 0.1), (0.0, 0.5)])
def test_soft_value_iteration_solves_the_soft_bellman_equation(
    gamma: float, temperature: float
) -> None:
    grid = _grid()
    p, r = grid.transition_matrix(), grid.reward_vector()
    q, v, policy = soft_value_iteration(p, r, gamma, temperature)
    assert q.shape == (25, 5) and v.shape == (25,) and policy.shape == (25, 5)
    soft_v = temperature * logsumexp(q / temperature, axis=1)
    np.testing.assert_allclose(v, soft_v, rtol=0, atol=1e-8)
    np.testing.assert_allclose(q, r[:, None] + gamma * p @ v, rtol=0, atol=1e-8)
    np.testing.assert_allclose(policy, np.exp((q - v[:, None]) / temperature), atol=1e-12)
    np.testing.assert_allclose(policy.sum(axis=1), 1.0)
    # an (S, A) reward equal to the broadcast state reward gives the same solution
    q2, _, _ = soft_value_iteration(p, np.repeat(r[:, None], 5, axis=1), gamma, temperature)
    np.testing.assert_allclose(q2, q, atol=1e-12)


def test_greedy_soft_policy_heads_to_a_rewarding_corner() -> None:
    grid = _grid()
    p, r = grid.transition_matrix(), grid.reward_vector()
    q, v, _ = soft_value_iteration(p, r, 0.9, 1.0)
    corners = {0, 4, 24}
    assert int(np.argmax(v)) in corners
    for start in range(25):
        s = start
        distance = min(abs(s // 5 - c // 5) + abs(s % 5 - c % 5) for c in corners)
        for _ in range(distance):
            s = grid.next_state(s, int(np.argmax(q[s])))
        assert s in corners, f"greedy path from {grid.cell(start)} ends at {grid.cell(s)}"
        assert grid.next_state(s, int(np.argmax(q[s]))) == s  # and stays there


def test_soft_value_iteration_rejects_bad_input() -> None:
    p, r = _grid().transition_matrix(), _grid().reward_vector()
    with pytest.raises(ValueError):
        soft_value_iteration(p, r, gamma=1.0)
    with pytest.raises(ValueError):
        soft_value_iteration(p, r, gamma=0.9, temperature=0.0)
    with pytest.raises(ValueError):
        soft_value_iteration(p, r[:-1], gamma=0.9)
    with pytest.raises(ValueError):
        soft_value_iteration(p * 2.0, r, gamma=0.9)
    with pytest.raises(RuntimeError):
        soft_value_iteration(p, r, gamma=0.99, max_iter=5)


def test_soft_optimal_policy_is_reproducible() -> None:
    grid = _grid()
    _, _, pi = soft_value_iteration(grid.transition_matrix(), grid.reward_vector(), 0.9, 1.0)
    states = np.random.default_rng(0).integers(25, size=300)

    def actions(seed: int) -> list[int]:
        policy = SoftOptimalPolicy(pi, seed=seed)
        policy.reset()
        return [policy(int(s)) for s in states]

    first = actions(3)
    assert first == actions(3)
    assert first != actions(4)
    assert all(type(a) is int and 0 <= a < 5 for a in first)
    # one-hot observations (the data loader's encoding) map to the same state
    policy = SoftOptimalPolicy(pi, seed=3)
    assert [policy(np.eye(25)[s]) for s in states] == first
    # empirical frequencies follow pi
    policy = SoftOptimalPolicy(pi, seed=0)
    counts = np.bincount([policy(np.int64(12)) for _ in range(4000)], minlength=5)
    np.testing.assert_allclose(counts / 4000, pi[12], atol=0.03)


def test_make_expert_for_gridworld() -> None:
    expert = make_expert(GRIDWORLD_ID)
    assert isinstance(expert, ExpertPolicy) and isinstance(expert, SoftOptimalPolicy)
    assert expert.name and expert.description and expert.seed == 0
    assert make_expert(GRIDWORLD_ID, seed=7).seed == 7
    small = make_expert(GRIDWORLD_ID, size=3, seed=1)
    assert isinstance(small, SoftOptimalPolicy) and small.policy.shape == (9, 5)
    states = list(range(25)) * 4
    a = make_expert(GRIDWORLD_ID, seed=2)
    b = make_expert(GRIDWORLD_ID, seed=2)
    assert [a(s) for s in states] == [b(s) for s in states]


# Mean returns over seeds 0..19 (measured): 5x5 expert 17.65, random 2.15;
# 10x10 expert 26.66, random -6.00.
@pytest.mark.parametrize(("env_id", "margin"), [(GRIDWORLD_ID, 10.0), (GRIDWORLD_10X10_ID, 20.0)])
def test_expert_beats_random(env_id: str, margin: float) -> None:
    expert = rollout_returns(env_id, make_expert(env_id), n_episodes=20, seed=0)
    random = rollout_returns(
        env_id, make_random_policy(gym.spaces.Discrete(5), seed=0), n_episodes=20, seed=0
    )
    assert expert.mean() > random.mean() + margin
    assert expert.min() > random.mean()


def test_collect_and_load_gridworld() -> None:
    from offline_iq.data import load_minari
    from offline_iq.experts.collect import collect_dataset

    collect_dataset(
        GRIDWORLD_ID,
        dataset_id="test/gridworld-v0",
        n_episodes=3,
        seed=0,
        reference_episodes=2,
        show_progress=False,
    )
    data = load_minari("test/gridworld-v0")
    transitions = data.transitions
    assert transitions.observations.shape == (60, 25)  # one-hot cells
    np.testing.assert_array_equal(transitions.observations.sum(axis=1), 1.0)
    assert not transitions.terminals.any()
    cells = transitions.observations.argmax(axis=1)
    np.testing.assert_array_equal(transitions.rewards.ravel(), _grid().reward_vector()[cells])
    env = data.metadata.make_env()
    assert env.spec is not None and env.spec.id == GRIDWORLD_ID
    assert isinstance(env.unwrapped, GridWorldEnv)


def test_ansi_render() -> None:
    env = gym.make(GRIDWORLD_ID, render_mode="ansi")
    env.reset(options={"state": 6})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = env.render()
    assert text == "+ . . . +\n. A . . .\n. . . . .\n. . . . .\n. . . . +\n"
