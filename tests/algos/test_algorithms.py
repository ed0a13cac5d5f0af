"""One shared tester for every algorithm of the toolkit: fit, predict, save/load, fit_online."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import d3rlpy
import gymnasium as gym
import numpy as np
import pytest
import torch

import offline_iq
from offline_iq.data import ExpertReplayBuffer, load_minari


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    make_config: Callable[[], Any]
    dataset: str
    env_id: str
    online: bool = True  # has fit_online with demonstrations


# small networks keep the DemoDICE cases fast (three networks per learner)
SMALL_DEMODICE: dict[str, Any] = {
    f"{name}_encoder_factory": d3rlpy.models.VectorEncoderFactory([32])
    for name in ("actor", "nu", "disc")
}

CASES = [
    Case(
        "discrete_iq",
        lambda: offline_iq.DiscreteIQLearnConfig(batch_size=32),
        "cartpole/expert-v0",
        "CartPole-v1",
    ),
    Case(
        "discrete_iq_w1_v0",
        lambda: offline_iq.DiscreteIQLearnConfig(
            batch_size=32, divergence="w1", value_objective="v0", use_target_network=True
        ),
        "acrobot/expert-v0",
        "Acrobot-v1",
    ),
    Case(
        "iq", lambda: offline_iq.IQLearnConfig(batch_size=32), "pendulum/expert-v0", "Pendulum-v1"
    ),
    Case(
        "iq_policy_averaging",  # predict, save/load and the TorchScript export act with the average
        lambda: offline_iq.IQLearnConfig.for_online(batch_size=32, policy_averaging=0.1),
        "pendulum/expert-v0",
        "Pendulum-v1",
    ),
    Case(
        "iq_paper_actor",  # no Q-filtered behaviour cloning
        lambda: offline_iq.IQLearnConfig(batch_size=32, q_filter_bc_weight=0.0),
        "pendulum/expert-v0",
        "Pendulum-v1",
    ),
    Case(
        "discrete_iq_chi2_plus_gp",
        lambda: offline_iq.DiscreteIQLearnConfig(batch_size=32, gradient_penalty=True),
        "acrobot/expert-v0",
        "Acrobot-v1",
    ),
    Case(
        "discrete_valuedice",
        lambda: offline_iq.DiscreteValueDICEConfig(batch_size=32),
        "cartpole/expert-v0",
        "CartPole-v1",
    ),
    Case(
        "valuedice",
        lambda: offline_iq.ValueDICEConfig(batch_size=32, initial_states="episode_starts"),
        "pendulum/expert-v0",
        "Pendulum-v1",
    ),
    Case(
        "discrete_demodice",
        lambda: offline_iq.DiscreteDemoDICEConfig(batch_size=32, **SMALL_DEMODICE),
        "cartpole/expert-v0",
        "CartPole-v1",
        online=False,
    ),
    Case(
        "demodice",
        lambda: offline_iq.DemoDICEConfig(batch_size=32, **SMALL_DEMODICE),
        "pendulum/expert-v0",
        "Pendulum-v1",
        online=False,
    ),
    Case(
        "discrete_iq_logged",  # iq-logged's settings; fit_mixed: see below
        lambda: offline_iq.DiscreteIQLearnConfig.for_logged(batch_size=32, absorbing=True),
        "cartpole/expert-v0",
        "CartPole-v1",
    ),
    Case(
        "iq_logged",
        lambda: offline_iq.IQLearnConfig.for_logged(batch_size=32),
        "pendulum/expert-v0",
        "Pendulum-v1",
    ),
    Case(
        "iq_w1_state_only",
        lambda: offline_iq.IQLearnConfig(
            batch_size=32, divergence="w1", state_only=True, temp_learning_rate=1e-4
        ),
        "mountaincarcontinuous/expert-v0",
        "MountainCarContinuous-v0",
    ),
]


@pytest.fixture(params=CASES, ids=lambda c: c.name)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


def _data(case: Case) -> ExpertReplayBuffer:
    return load_minari(case.dataset, n_trajectories=2, seed=0)


def test_fit_predict_save_load(case: Case, tmp_path: Path) -> None:
    d3rlpy.seed(0)
    data = _data(case)
    algo = case.make_config().create(device="cpu:0")
    algo.fit(
        data,
        n_steps=20,
        n_steps_per_epoch=10,
        logger_adapter=d3rlpy.logging.FileAdapterFactory(root_dir=str(tmp_path / "logs")),
        show_progress=False,
        with_timestamp=False,
        experiment_name="run",
    )
    assert algo.grad_step == 20
    if (
        getattr(algo.config, "gradient_penalty", False)
        or getattr(algo.config, "divergence", "") == "w1"
    ):
        gp = (tmp_path / "logs" / "run" / "gp_loss.csv").read_text().splitlines()
        assert float(gp[-1].split(",")[-1]) > 0  # the Lipschitz penalty is active
    metrics: tuple[str, ...] = ("loss", "reward_expert", "q_expert")
    if "valuedice" in case.name:
        metrics = ("objective", "gp_loss")
    elif "demodice" in case.name:
        metrics = ("disc_loss", "nu_loss", "actor_loss", "reward_expert", "mean_weight")
    for metric in metrics:  # logged per step by d3rlpy's CSV logger
        assert (tmp_path / "logs" / "run" / f"{metric}.csv").is_file()
    if getattr(algo.config, "q_filter_bc_weight", 0.0) > 0:
        used = (tmp_path / "logs" / "run" / "bc_fraction.csv").read_text().splitlines()
        share = float(used[-1].split(",")[-1])  # share of rows cloned, logged
        if algo.config.state_only:
            assert share == 0.0  # no expert actions to clone
        else:
            assert 0.0 <= share <= 1.0
    obs = data.transitions.observations[:16]
    actions = algo.predict(obs)
    space = data.metadata.action_space
    assert all(space.contains(a.astype(space.dtype) if space.shape else int(a)) for a in actions)

    algo.save(str(tmp_path / "algo.d3"))
    loaded = d3rlpy.load_learnable(str(tmp_path / "algo.d3"))
    assert type(loaded) is type(algo)
    np.testing.assert_array_equal(loaded.predict(obs), actions)

    # a d3rlpy model_N.d3 checkpoint written by the logger is a full learnable too
    checkpoint = d3rlpy.load_learnable(str(tmp_path / "logs" / "run" / "model_20.d3"))
    np.testing.assert_array_equal(checkpoint.predict(obs), actions)

    algo.save_policy(str(tmp_path / "policy.pt"))  # TorchScript export with the scalers inside
    policy = torch.jit.load(str(tmp_path / "policy.pt"))
    exported = policy(torch.as_tensor(obs)).detach().numpy()
    np.testing.assert_allclose(exported.reshape(actions.shape), actions, rtol=1e-5, atol=1e-5)


def test_fit_online_mixes_expert_and_policy_rows(case: Case) -> None:
    if not case.online:
        pytest.skip("offline only")
    d3rlpy.seed(0)
    env, eval_env = gym.make(case.env_id), gym.make(case.env_id)
    algo = case.make_config().create(device="cpu:0")
    algo.attach_demonstrations(_data(case))
    seen: list[int] = []
    algo.fit_online(
        env,
        buffer=d3rlpy.dataset.create_fifo_replay_buffer(1000, env=env),
        n_steps=120,
        n_steps_per_epoch=60,
        update_start_step=60,
        eval_env=eval_env,
        eval_n_trials=1,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
        show_progress=False,
        callback=lambda a, epoch, step: seen.append(a.grad_step),
    )
    assert algo.grad_step > 0 and seen[-1] == algo.grad_step


def test_fit_online_requires_demonstrations(case: Case) -> None:
    algo = case.make_config().create(device="cpu:0")
    if not case.online:  # an offline-only learner says so
        with pytest.raises(NotImplementedError, match="learns offline"):
            algo.fit_online(gym.make(case.env_id), n_steps=1)
        return
    with pytest.raises(ValueError, match="attach_demonstrations"):
        algo.fit_online(gym.make(case.env_id), n_steps=1)


def test_wrong_action_space_is_a_clear_error() -> None:
    pendulum = load_minari("pendulum/expert-v0", n_trajectories=1)
    with pytest.raises(ValueError, match="DiscreteIQLearn needs discrete actions"):
        offline_iq.DiscreteIQLearnConfig().create().fit(pendulum, n_steps=1, show_progress=False)
    cartpole = load_minari("cartpole/expert-v0", n_trajectories=1)
    with pytest.raises(ValueError, match="IQLearn needs continuous actions"):
        offline_iq.IQLearnConfig().create().fit(cartpole, n_steps=1, show_progress=False)


def test_same_seed_same_numbers() -> None:
    def run() -> np.ndarray:
        d3rlpy.seed(3)
        data = load_minari("cartpole/expert-v0", n_trajectories=1, seed=3)
        algo = offline_iq.DiscreteIQLearnConfig(batch_size=32).create(device="cpu:0")
        algo.fit(
            data,
            n_steps=30,
            n_steps_per_epoch=30,
            show_progress=False,
            logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
        )
        return algo.predict_value(
            data.transitions.observations[:8], data.transitions.actions[:8, 0].astype(np.int64)
        )

    np.testing.assert_array_equal(run(), run())


def test_fit_mixed_uses_logged_non_expert_data_as_policy_rows() -> None:
    d3rlpy.seed(0)
    algo = offline_iq.DiscreteIQLearnConfig(batch_size=16, value_objective="value").create()
    with pytest.raises(ValueError, match="fit_mixed needs expert data"):
        algo.fit_mixed(load_minari("cartpole/random-v0"), n_steps=1)
    algo.attach_demonstrations(load_minari("cartpole/expert-v0", n_trajectories=1))
    seen: list[int] = []
    history = algo.fit_mixed(
        load_minari("cartpole/random-v0"),
        n_steps=10,
        n_steps_per_epoch=5,
        show_progress=False,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
        callback=lambda a, epoch, step: seen.append(a.grad_step),
    )
    assert len(history) == 2 and algo.grad_step == 10
    # policy rows exist: the mean recovered reward on them is logged (0.0 only without them)
    assert history[-1][1]["reward_policy"] != 0.0


def test_for_online_applies_the_online_settings_then_overrides() -> None:
    discrete = offline_iq.DiscreteIQLearnConfig.for_online(temperature=0.05)
    assert (discrete.value_objective, discrete.chi2_on_mixture, discrete.absorbing) == (
        "value_expert",
        True,
        True,
    )
    assert discrete.temperature == 0.05 and not discrete.use_target_network
    continuous = offline_iq.IQLearnConfig.for_online(absorbing=False)
    assert continuous.value_objective == "value" and continuous.use_target_network
    assert continuous.q_filter_bc_weight == 0.0 and not continuous.absorbing
    offline = offline_iq.DiscreteIQLearnConfig()  # the offline defaults are untouched
    assert not offline.chi2_on_mixture and not offline.absorbing
    with pytest.raises(TypeError):
        offline_iq.DiscreteIQLearnConfig.for_online(actor_learning_rate=1e-3)  # no actor here


@pytest.mark.parametrize(
    ("settings", "dataset", "env_id", "message"),
    [
        # the absorbing state values the agent's terminations as failures; Acrobot's expert ends
        # its episodes by termination (the goal), so the agent would learn to avoid the goal
        ({}, "acrobot/expert-v0", "Acrobot-v1", "pass absorbing=False"),
        # online the policy rows are the agent's own replay: cloning them is not the knob's use
        ({"logged_bc_weight": 0.5}, "cartpole/expert-v0", "CartPole-v1", "pass logged_bc_weight=0"),
    ],
    ids=["absorbing_with_goal_reaching_demonstrations", "logged_bc_weight_online"],
)
def test_online_settings_that_misfire_warn(
    settings: dict[str, float], dataset: str, env_id: str, message: str
) -> None:
    algo = offline_iq.DiscreteIQLearnConfig.for_online(**settings).create(device="cpu:0")
    algo.attach_demonstrations(load_minari(dataset, n_trajectories=1))
    with pytest.warns(UserWarning, match=message):
        algo.fit_online(
            gym.make(env_id),
            n_steps=2,
            logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
            show_progress=False,
        )
