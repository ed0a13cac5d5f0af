"""Tests for the hand-made expert controllers.

Return thresholds sit a little under the means measured for seeds 0..9 (in brackets).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from offline_iq.experts.controllers import (
    SUPPORTED_EXPERT_ENVS,
    ExpertPolicy,
    make_expert,
    make_random_policy,
    rollout_returns,
)

# (env id, env kwargs, episodes, minimum mean return)
RETURN_CASES: list[tuple[str, dict[str, Any], int, float]] = [
    ("CartPole-v1", {}, 5, 500.0),  # [500]
    ("Acrobot-v1", {}, 10, -64.0),  # [-62.2]
    ("MountainCar-v0", {}, 10, -110.0),  # [-103.0]
    ("Pendulum-v1", {}, 10, -150.0),  # [-128.2]
    ("MountainCarContinuous-v0", {}, 10, 97.0),  # [97.9]
    ("LunarLander-v3", {}, 10, 240.0),  # [265.4]
    ("LunarLander-v3", {"continuous": True}, 10, 260.0),  # [281.6]
]
ENV_CASES = [(env_id, kwargs) for env_id, kwargs, _, _ in RETURN_CASES]


def _case_id(case: tuple[Any, ...]) -> str:
    env_id, kwargs = str(case[0]), dict(case[1])
    return env_id + ("-continuous" if kwargs.get("continuous") else "")


@pytest.mark.parametrize("case", RETURN_CASES, ids=_case_id)
def test_expert_reaches_return_threshold(case: tuple[str, dict[str, Any], int, float]) -> None:
    env_id, kwargs, n_episodes, threshold = case
    returns = rollout_returns(env_id, make_expert(env_id, **kwargs), n_episodes, seed=0, **kwargs)
    assert returns.shape == (n_episodes,)
    assert returns.mean() >= threshold
    if env_id == "CartPole-v1":
        assert np.all(returns == 500.0)


@pytest.mark.parametrize("case", ENV_CASES, ids=_case_id)
def test_expert_actions_are_valid_and_deterministic(case: tuple[str, dict[str, Any]]) -> None:
    env_id, kwargs = case
    env = gym.make(env_id, **kwargs)
    expert = make_expert(env_id, **kwargs)
    assert isinstance(expert, ExpertPolicy)
    assert expert.name and expert.description
    observation, _ = env.reset(seed=3)
    for _ in range(20):
        expert.reset()
        action = expert(observation)
        expert.reset()
        again = expert(observation)
        assert env.action_space.contains(action)
        if isinstance(env.action_space, gym.spaces.Discrete):
            assert type(action) is int
            assert action == again
        else:
            assert isinstance(action, np.ndarray) and isinstance(again, np.ndarray)
            assert action.dtype == np.float32 and action.shape == env.action_space.shape
            np.testing.assert_array_equal(action, again)
        observation, *_ = env.step(action)


def test_supported_envs() -> None:
    from offline_iq.envs import GRIDWORLD_ENV_IDS

    assert len(SUPPORTED_EXPERT_ENVS) == 8
    assert {env_id for env_id, _ in ENV_CASES} | set(GRIDWORLD_ENV_IDS) == set(
        SUPPORTED_EXPERT_ENVS
    )
    assert make_expert("LunarLander-v3").name != make_expert("LunarLander-v3", continuous=True).name


def test_make_expert_rejects_unknown_env() -> None:
    with pytest.raises(ValueError, match="Humanoid-v5") as excinfo:
        make_expert("Humanoid-v5")
    assert all(env_id in str(excinfo.value) for env_id in SUPPORTED_EXPERT_ENVS)


@pytest.mark.parametrize(
    "space",
    [gym.spaces.Discrete(4, start=1), gym.spaces.Box(-2.0, 2.0, shape=(3,), dtype=np.float32)],
    ids=["discrete", "box"],
)
def test_random_policy_is_reproducible(space: gym.spaces.Space[Any]) -> None:
    observation = np.zeros(2, dtype=np.float32)

    def actions(seed: int) -> list[Any]:
        policy = make_random_policy(space, seed=seed)
        policy.reset()
        return [policy(observation) for _ in range(50)]

    first = actions(7)
    assert all(space.contains(action) for action in first)
    np.testing.assert_array_equal(np.array(first), np.array(actions(7)))
    assert not np.array_equal(np.array(first), np.array(actions(8)))


def test_random_policy_rejects_unbounded_box() -> None:
    with pytest.raises(ValueError):
        make_random_policy(gym.spaces.Box(-np.inf, np.inf, shape=(2,)), seed=0)


def test_rollout_returns_with_random_policy() -> None:
    space = gym.spaces.Discrete(2)
    returns = rollout_returns("CartPole-v1", make_random_policy(space, 0), n_episodes=3, seed=0)
    again = rollout_returns("CartPole-v1", make_random_policy(space, 0), n_episodes=3, seed=0)
    np.testing.assert_array_equal(returns, again)
    assert returns.dtype == np.float64 and np.all(returns < 100.0)
