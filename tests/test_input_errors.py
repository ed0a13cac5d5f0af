"""The error catalogue: bad inputs at every entry point get one clear message naming the problem.

Config values are checked in one place (:func:`offline_iq.validation.check_field_types` and the
configs' ``__post_init__``), so the Python API and ``offline-iq fit -o`` say the same thing.
The loader's own errors are tested in ``tests/data/test_errors.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import d3rlpy
import gymnasium as gym
import pytest
from typer.testing import CliRunner

import offline_iq
from offline_iq.cli import app
from offline_iq.learners import make_config, make_online_config
from offline_iq.validation import ConfigFieldError

runner = CliRunner()
DIQ, IQ = offline_iq.DiscreteIQLearnConfig, offline_iq.IQLearnConfig
DVD, VD = offline_iq.DiscreteValueDICEConfig, offline_iq.ValueDICEConfig

CONFIG_CASES: list[tuple[Callable[[], Any], str]] = [
    (
        lambda: DIQ(chi2_alpha="abc"),
        r"DiscreteIQLearnConfig.chi2_alpha must be a number, got 'abc'",
    ),
    (lambda: DIQ(divergence="kl2"), r"divergence must be one of 'chi2', 'tv'"),
    (lambda: IQ(absorbing="yes"), r"IQLearnConfig.absorbing must be a bool"),
    (lambda: IQ(n_value_samples=1.5), r"n_value_samples must be an integer, got 1.5"),
    (lambda: IQ(batch_size=True), r"batch_size must be an integer, got True"),
    (lambda: DIQ(chi2_alpha=math.nan), r"chi2_alpha must be a number, not NaN"),
    (lambda: DIQ(chi2_alpha=-1.0), r"chi2_alpha must be > 0, got -1.0"),
    (lambda: IQ(gamma=1.0), r"gamma must be in \(0, 1\), got 1.0"),
    (lambda: DIQ(tau=0.0), r"tau must be in \(0, 1\], got 0.0"),
    (lambda: DIQ(temperature=0.0), r"temperature must be > 0"),
    (lambda: IQ(actor_q_reduction="max"), r"actor_q_reduction must be one of 'min', 'mean'"),
    (lambda: DIQ(value_objective="v1"), r"value_objective must be one of 'value_expert'"),
    (lambda: DIQ(divergence="kl", chi2_on_mixture=True), r"chi2_on_mixture requires divergence"),
    (lambda: DIQ(divergence="w1", absorbing=True), r"absorbing need divergence 'chi2' or 'tv'"),
    (lambda: IQ(q_filter_bc_weight=-0.5), r"q_filter_bc_weight must be >= 0"),
    (
        lambda: DVD(nu_learning_rate="fast"),
        r"DiscreteValueDICEConfig.nu_learning_rate must be a number",
    ),
    (lambda: VD(initial_states=3), r"initial_states must be one of 'expert_states', 'episode_"),
    (lambda: VD(initial_states="starts"), r"initial_states must be one of 'expert_states'"),
    (lambda: VD(orthogonal_regularization=-1e-4), r"orthogonal_regularization must be >= 0"),
    (
        lambda: DVD(orthogonal_regularization="1e-4"),
        r"DiscreteValueDICEConfig.orthogonal_regularization must be a number",
    ),
]


@pytest.mark.parametrize(("make", "message"), CONFIG_CASES)
def test_bad_config_values_name_the_field(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_a_wrong_type_is_both_a_type_and_a_value_error() -> None:
    with pytest.raises(TypeError):
        DIQ(chi2_alpha="abc")
    assert issubclass(ConfigFieldError, TypeError) and issubclass(ConfigFieldError, ValueError)


@pytest.fixture(scope="module")
def cartpole() -> offline_iq.ExpertReplayBuffer:
    return offline_iq.load_minari("cartpole/expert-v0", n_trajectories=1)


LEARNER_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("iq", {"chi2_alph": 0.1}, r"iq has no field 'chi2_alph'"),
    ("sac", {}, r"unknown algorithm 'sac'; choose from iq, bc, bc-wd, valuedice"),
    ("bc", {"learning_rate": "fast"}, r"DiscreteBCConfig.learning_rate must be a number"),
    ("bc", {"batch_size": 2.5}, r"DiscreteBCConfig.batch_size must be an integer"),
    ("iq", {"observation_scaler": "minmax"}, r"unknown observation scaler 'minmax'"),
    ("iq", {"encoder_factory": {"type": "mlp", "params": {}}}, r"encoder_factory must be d3rlpy's"),
    ("iq", {"encoder_factory": {"params": {}}}, r"encoder_factory must be d3rlpy's serialised"),
    (
        "iq",
        {"encoder_factory": {"type": "vector", "params": {"layer_norm": True}}},
        r"encoder_factory: 'vector' has no parameter 'layer_norm'; it has .*use_layer_norm",
    ),
]


@pytest.mark.parametrize(("name", "overrides", "message"), LEARNER_CASES)
def test_bad_learner_options_are_named(
    cartpole: offline_iq.ExpertReplayBuffer, name: str, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_config(name, cartpole, **overrides)


def test_a_factory_field_takes_d3rlpys_serialised_form(
    cartpole: offline_iq.ExpertReplayBuffer,
) -> None:
    # what -o 'critic_encoder_factory={"type": ..., "params": {...}}' hands over
    pendulum = offline_iq.load_minari("pendulum/expert-v0", n_trajectories=1)
    form = {"type": "vector", "params": {"hidden_units": [64, 64], "use_layer_norm": True}}
    config: Any = make_online_config("iq", pendulum, critic_encoder_factory=form)
    assert config.critic_encoder_factory == d3rlpy.models.VectorEncoderFactory(
        hidden_units=[64, 64], use_layer_norm=True
    )
    assert config.actor_encoder_factory == d3rlpy.models.DefaultEncoderFactory()
    discrete: Any = make_config("iq", cartpole, encoder_factory=form)
    assert discrete.encoder_factory.use_layer_norm


def test_bc_has_no_online_mode(cartpole: offline_iq.ExpertReplayBuffer) -> None:
    with pytest.raises(ValueError, match="'bc' has no online mode"):
        make_online_config("bc", cartpole)


def test_discrete_learner_on_continuous_actions() -> None:
    pendulum = offline_iq.load_minari("pendulum/expert-v0", n_trajectories=1)
    algo = DIQ(batch_size=8).create(device="cpu:0")
    with pytest.raises(ValueError, match="needs discrete actions but the dataset has continuous"):
        algo.fit(pendulum, n_steps=1, n_steps_per_epoch=1, show_progress=False)


def test_online_without_demonstrations() -> None:
    algo = DIQ.for_online(batch_size=8).create(device="cpu:0")
    with pytest.raises(ValueError, match="fit_online needs expert data"):
        algo.fit_online(gym.make("CartPole-v1"), n_steps=1)


CLI_CASES: list[tuple[list[str], str]] = [
    (["-o", "chi2_alpha=abc"], "chi2_alpha must be a number, got 'abc'"),
    (["-o", "divergence=kl2"], "divergence must be one of"),
    (["-o", "chi2_alph=0.1"], "iq has no field 'chi2_alph'"),
    (["-o", "absorbing"], "--option must look like KEY=VALUE"),
    (["--algo", "sac"], "unknown algorithm 'sac'"),
    (["--algo", "bc", "--online", "CartPole-v1"], "--online needs iq or valuedice"),
    (["--algo", "iq", "--online", "Acrobot-v1"], "Acrobot-v1's observation space"),
    (["--algo", "iq", "--online", "Nope-v0"], "unknown environment 'Nope-v0'"),
    (["--demos", "99"], "99"),
]


@pytest.mark.parametrize(("extra", "message"), CLI_CASES)
def test_fit_command_names_the_problem(extra: list[str], message: str, tmp_path: Any) -> None:
    args = ["fit", "cartpole/expert-v0", "--steps", "1", "--out", str(tmp_path / "run"), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert _flat(message) in _flat(result.output), result.output


def _flat(text: str) -> str:
    """``text`` without spaces, line breaks and the box rich draws around usage errors."""
    return "".join(ch for ch in text if ch not in "│╭╮╰╯─ \n")


def test_fit_command_unknown_dataset() -> None:
    result = runner.invoke(app, ["fit", "nope/nothing-v0", "--steps", "1"])
    assert result.exit_code == 2 and "nope/nothing-v0" in result.output, result.output
