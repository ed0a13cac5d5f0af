"""DemoDICE with logged data: p_E from the counts, the union's initial states, the reward."""

from __future__ import annotations

import d3rlpy
import numpy as np
import pytest

import offline_iq
from offline_iq.data import load_minari
from offline_iq.learners import make_config

SMALL = {
    f"{name}_encoder_factory": d3rlpy.models.VectorEncoderFactory([32])
    for name in ("actor", "nu", "disc")
}


def test_fit_mixed_weights_the_union_and_learns_a_reward() -> None:
    d3rlpy.seed(0)
    expert = load_minari("cartpole/expert-v0", n_trajectories=1, seed=0)
    random = load_minari("cartpole/random-v0")
    algo = offline_iq.DiscreteDemoDICEConfig(batch_size=32, **SMALL).create(device="cpu:0")
    algo.attach_demonstrations(expert)
    history = algo.fit_mixed(
        random,
        n_steps=300,
        n_steps_per_epoch=100,
        show_progress=False,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
    )
    n_expert, n_random = expert.transition_count, random.transition_count
    assert algo.expert_share == pytest.approx(n_expert / (n_expert + n_random))
    # p0 of the union: the initial states of every expert and every random episode
    starts = algo._initial_observations
    assert starts is not None
    assert len(starts) == len(expert.initial_observations) + len(random.initial_observations)

    metrics = history[-1][1]  # means over steps 201-300
    assert metrics["reward_expert"] > metrics["reward_logged"]
    # the policy's weights have moved towards the expert rows (the union mean stays 1)
    assert metrics["weight_expert"] > 1.0 > metrics["weight_logged"]
    assert metrics["mean_weight"] == pytest.approx(1.0, abs=1e-4)
    # R(s, a) = log c - log(1 - c), read through predict_value, over every transition
    expert_reward = algo.predict_value(
        expert.transitions.observations, expert.transitions.actions[:, 0].astype(np.int64)
    )
    random_reward = algo.predict_value(
        random.transitions.observations, random.transitions.actions[:, 0].astype(np.int64)
    )
    assert expert_reward.mean() > random_reward.mean() + 1.0


def test_plain_fit_is_all_expert_and_the_learner_is_registered() -> None:
    d3rlpy.seed(0)
    data = load_minari("cartpole/expert-v0", n_trajectories=1, seed=0)
    config = make_config("demodice", data, hidden_units="32")
    assert isinstance(config, offline_iq.DiscreteDemoDICEConfig)
    assert (config.alpha, config.gamma, config.batch_size) == (0.05, 0.99, 256)
    algo = config.create(device="cpu:0")
    history = algo.fit(
        data,
        n_steps=2,
        n_steps_per_epoch=2,
        show_progress=False,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
    )
    assert algo.expert_share == 1.0
    assert history[-1][1]["reward_logged"] == 0.0  # no logged rows
    pendulum = load_minari("pendulum/expert-v0", n_trajectories=1, seed=0)
    assert isinstance(make_config("demodice", pendulum), offline_iq.DemoDICEConfig)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("alpha", 0.0, "alpha must be > 0"),
        ("max_weight", 0.0, "max_weight must be > 0"),
        ("disc_gp_weight", -1.0, "disc_gp_weight must be >= 0"),
        ("gamma", 1.0, r"gamma must be in \[0, 1\)"),
    ],
)
def test_bad_config_values(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        offline_iq.DiscreteDemoDICEConfig(**{field: value})  # type: ignore[arg-type]
