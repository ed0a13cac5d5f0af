"""The training driver: a resumed online run whose replay buffer was lost refills it first; an
online run's environments are the dataset's own, with its ``gym.make`` keywords."""

from __future__ import annotations

import dataclasses

import d3rlpy
import gymnasium as gym
import pytest
import torch

from offline_iq.data import load_minari
from offline_iq.data.online_buffer import create_fast_fifo_replay_buffer
from offline_iq.training import online_envs, train_in_chunks


def _weights(algo: d3rlpy.algos.SAC) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in algo.impl.policy.state_dict().items()}


def test_resumed_online_run_without_buffer_refills_before_updating() -> None:
    env = gym.make("Pendulum-v1")
    d3rlpy.seed(0)
    algo = d3rlpy.algos.SACConfig(batch_size=16).create(device="cpu:0")
    algo.build_with_env(env)
    start = _weights(algo)
    buffer = create_fast_fifo_replay_buffer(10_000, env=env)
    # resumed at 900 of 1000 steps with an empty buffer: 60 steps of refill over two chunks
    chunks = train_in_chunks(algo, None, steps=1000, chunk=30, done=900, env=env, buffer=buffer,
                             warmup=60)  # fmt: skip
    assert [next(chunks), next(chunks)] == [930, 960]
    assert buffer.transition_count > algo.batch_size  # enough to update on, had it not refilled
    assert all(torch.equal(start[k], v) for k, v in _weights(algo).items())
    assert next(chunks) == 990  # refill over: updates
    assert not all(torch.equal(start[k], v) for k, v in _weights(algo).items())


def test_online_envs_keep_the_keywords_the_dataset_was_recorded_with() -> None:
    meta = load_minari("ant/expert-v0", n_trajectories=1).metadata
    assert gym.make("Ant-v5").observation_space.shape == (105,)  # contact forces by default
    train_env, eval_env = online_envs("Ant-v5", meta)
    assert train_env is not eval_env
    for env in (train_env, eval_env):
        assert env.observation_space.shape == meta.observation_space.shape == (27,)
        assert env.spec is not None
        assert env.spec.kwargs == {"include_cfrc_ext_in_observation": False}


def test_online_envs_evaluate_in_the_dataset_s_evaluation_spec() -> None:
    meta = load_minari("cartpole/expert-v0", n_trajectories=1).metadata
    assert meta.env_spec is not None and meta.env_spec.id == "CartPole-v1"
    meta = dataclasses.replace(meta, eval_env_spec=gym.spec("CartPole-v0"))
    train_env, eval_env = online_envs("CartPole-v1", meta)
    assert train_env.spec is not None and train_env.spec.id == "CartPole-v1"
    assert eval_env.spec is not None and eval_env.spec.id == "CartPole-v0"


def test_online_envs_take_another_environment_of_the_same_spaces() -> None:
    meta = load_minari("cartpole/expert-v0", n_trajectories=1).metadata
    envs = online_envs("CartPole-v0", meta)  # the same spaces, a shorter time limit
    assert [env.spec.id for env in envs if env.spec is not None] == ["CartPole-v0"] * 2


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        ("Acrobot-v1", "Acrobot-v1's observation space Box"),
        ("MountainCar-v0", "MountainCar-v0's observation space Box"),
        ("Pendulum-v1", "Pendulum-v1's observation space"),
        ("Nope-v0", "unknown environment 'Nope-v0'"),
    ],
)
def test_online_envs_refuse_spaces_the_demonstrations_do_not_fit(env_id: str, message: str) -> None:
    meta = load_minari("cartpole/expert-v0", n_trajectories=1).metadata
    with pytest.raises(ValueError, match=message) as caught:
        online_envs(env_id, meta)
    if env_id != "Nope-v0":
        assert "cartpole/expert-v0" in str(caught.value)


def test_online_envs_compare_actions_too() -> None:
    meta = load_minari("cartpole/expert-v0", n_trajectories=1).metadata
    # an environment observing 4 numbers as CartPole does, but with 3 actions: the dataset's 2 fail
    gym.register("ThreeActionCartPole-v0", entry_point=_three_action_cartpole, max_episode_steps=10)
    try:
        with pytest.raises(ValueError, match="action space Discrete\\(3\\) does not match"):
            online_envs("ThreeActionCartPole-v0", meta)
    finally:
        del gym.registry["ThreeActionCartPole-v0"]


def _three_action_cartpole() -> gym.Env:  # type: ignore[type-arg]
    env = gym.make("CartPole-v1").unwrapped
    env.action_space = gym.spaces.Discrete(3)
    return env
