"""The clipped standardiser: hand-computed values, numpy/torch agreement, d3rlpy round trip;
features constant in the data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import d3rlpy
import gymnasium as gym
import numpy as np
import pytest
import torch
from d3rlpy.preprocessing import StandardObservationScaler

import offline_iq
from offline_iq.data import ExpertReplayBuffer
from offline_iq.data.buffer import unit_scale_for_constants
from offline_iq.data.logged import join_logged
from offline_iq.preprocessing import ClippedStandardObservationScaler, fit_observation_scaler


def _scaler(clip: float | None = 3.0) -> ClippedStandardObservationScaler:
    return ClippedStandardObservationScaler(
        mean=np.array([0.0, 1.0]), std=np.array([0.1, 2.0]), eps=0.0, clip=clip
    )


def test_values_are_standardised_then_clipped() -> None:
    x = np.array([[0.05, 1.0], [1.0, -9.0], [-0.25, 4.0]], dtype=np.float32)
    # (x - mean) / std = [[0.5, 0], [10, -5], [-2.5, 1.5]] -> clipped to +-3
    expected = np.array([[0.5, 0.0], [3.0, -3.0], [-2.5, 1.5]])
    np.testing.assert_allclose(_scaler().transform_numpy(x), expected, rtol=1e-6)
    torch_out = _scaler().transform(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(torch_out, expected, rtol=1e-6)


def test_inside_the_bound_it_equals_plain_standardisation() -> None:
    x = np.random.default_rng(0).normal(size=(64, 2)) * [0.1, 2.0] + [0.0, 1.0]
    plain = StandardObservationScaler(mean=np.array([0.0, 1.0]), std=np.array([0.1, 2.0]), eps=0)
    wide = _scaler(clip=100.0)
    np.testing.assert_allclose(wide.transform_numpy(x), plain.transform_numpy(x))


@pytest.mark.parametrize("clip", [0.0, -1.0])
def test_a_non_positive_clip_is_rejected(clip: float) -> None:
    with pytest.raises(ValueError, match="clip must be > 0"):
        ClippedStandardObservationScaler(clip=clip)


def test_discrete_iq_clips_by_default_and_the_others_standardise() -> None:
    a, b = offline_iq.DiscreteIQLearnConfig(), offline_iq.DiscreteIQLearnConfig()
    for config in (a, b):
        assert type(config.observation_scaler) is ClippedStandardObservationScaler
        assert config.observation_scaler.clip == 3.0
    assert a.observation_scaler is not b.observation_scaler  # one instance per config
    for other in (offline_iq.IQLearnConfig(), offline_iq.ValueDICEConfig()):
        assert type(other.observation_scaler) is StandardObservationScaler
    plain = offline_iq.DiscreteIQLearnConfig(observation_scaler=StandardObservationScaler())
    assert type(plain.observation_scaler) is StandardObservationScaler


def test_the_clip_survives_save_and_load(tmp_path: Path) -> None:
    config = offline_iq.DiscreteIQLearnConfig(observation_scaler=_scaler(clip=2.0))
    algo = config.create(device="cpu:0")
    algo.create_impl((2,), 3)
    algo.save(str(tmp_path / "algo.d3"))
    loaded = d3rlpy.load_learnable(str(tmp_path / "algo.d3"))
    scaler = loaded.config.observation_scaler
    assert isinstance(scaler, ClippedStandardObservationScaler)
    assert scaler.clip == 2.0
    x = np.array([[1.0, -9.0]], dtype=np.float32)
    np.testing.assert_allclose(scaler.transform_numpy(x), [[2.0, -2.0]])


def test_clip_none_is_plain_standardisation() -> None:
    x = np.array([[1.0, -9.0]], dtype=np.float32)
    np.testing.assert_allclose(_scaler(clip=None).transform_numpy(x), [[10.0, -5.0]])
    np.testing.assert_allclose(
        _scaler(clip=None).transform(torch.as_tensor(x)).numpy(), [[10.0, -5.0]]
    )


def test_fit_clips_offline_and_the_online_config_does_not(tmp_path: Path) -> None:
    data = offline_iq.load_minari("cartpole/expert-v0", n_trajectories=1)
    clipped = ClippedStandardObservationScaler
    config = offline_iq.DiscreteIQLearnConfig(batch_size=8, observation_scaler=clipped())
    offline = config.create(device="cpu:0")
    offline.fit(data, n_steps=2, n_steps_per_epoch=2, show_progress=False,
                logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip
    assert offline.config.observation_scaler.clip == 3.0  # type: ignore[union-attr]

    def fit_online(algo: Any) -> None:
        algo.attach_demonstrations(data)
        env = gym.make("CartPole-v1")
        algo.fit_online(
            env,
            buffer=d3rlpy.dataset.create_fifo_replay_buffer(100, env=env),
            n_steps=20,
            n_steps_per_epoch=20,
            update_start_step=10,
            show_progress=False,
            logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
        )

    online = offline_iq.DiscreteIQLearnConfig.for_online(batch_size=8).create(device="cpu:0")
    fit_online(online)
    scaler = online.config.observation_scaler
    assert type(scaler) is StandardObservationScaler  # chosen with the config, never mutated
    np.testing.assert_allclose(scaler.mean, data.observation_statistics[0])
    online.save(str(tmp_path / "online.d3"))
    reloaded = d3rlpy.load_learnable(str(tmp_path / "online.d3")).config.observation_scaler
    assert type(reloaded) is StandardObservationScaler
    # two online configs never share (and so never refit) one scaler
    assert offline_iq.DiscreteIQLearnConfig.for_online().observation_scaler is not scaler

    bare = offline_iq.DiscreteIQLearnConfig(batch_size=8).create(device="cpu:0")
    with pytest.warns(UserWarning, match="clips standardised features"):
        fit_online(bare)
    assert bare.config.observation_scaler.clip == 3.0  # type: ignore[union-attr]


def test_constant_features_get_unit_scale_and_the_rest_stay_bit_for_bit() -> None:
    std = np.array([0.0, 1e-7, 0.5, 2e-6, 1e-6], dtype=np.float32)
    out = unit_scale_for_constants(std)
    np.testing.assert_array_equal(out, np.array([1.0, 1.0, 0.5, 2e-6, 1.0], dtype=np.float32))
    assert std[0] == 0.0  # the input is not changed


def _with_a_constant_feature() -> ExpertReplayBuffer:
    data = offline_iq.load_minari("hopper/expert-v0", n_trajectories=1)
    mean, std = data.observation_statistics
    std = std.copy()
    std[0] = 0.0  # as if feature 0 never moved in the demonstration
    data.observation_statistics = (mean, std)
    return data


def test_plain_standardisation_centres_a_constant_feature_without_amplifying_it() -> None:
    data = _with_a_constant_feature()
    mean, std = data.observation_statistics
    x = (mean + 0.5).astype(np.float32)[None]  # every feature 0.5 above its mean
    for plain in (data.standard_observation_scaler(), StandardObservationScaler()):
        fit_observation_scaler(plain, data)
        z = plain.transform_numpy(x)[0]
        assert z[0] == pytest.approx(0.5 / (1.0 + plain.eps))  # was 0.5 / 1e-3 = 500
        np.testing.assert_array_equal(plain.std[1:], std[1:])  # other features untouched
    # the clipped scaler keeps the raw statistics: it bounds the feature at +-clip instead
    clipped = ClippedStandardObservationScaler()
    fit_observation_scaler(clipped, data)
    assert clipped.std[0] == 0.0
    assert clipped.transform_numpy(x)[0][0] == pytest.approx(3.0)


def test_a_constant_feature_in_a_plain_d3rlpy_dataset_gets_unit_scale() -> None:
    rng = np.random.default_rng(0)
    observations = rng.normal(size=(50, 3)).astype(np.float32)
    observations[:, 1] = 2.0  # constant
    dataset = d3rlpy.dataset.MDPDataset(
        observations, rng.normal(size=(50, 1)).astype(np.float32),
        np.zeros(50, dtype=np.float32), np.eye(1, 50, 49, dtype=np.float32)[0],
    )  # fmt: skip
    scaler = StandardObservationScaler()
    fit_observation_scaler(scaler, dataset)
    assert scaler.std[1] == 1.0 and scaler.mean[1] == pytest.approx(2.0)
    np.testing.assert_allclose(scaler.std[[0, 2]], observations[:, [0, 2]].std(axis=0), rtol=1e-5)


def test_a_clipped_scaler_without_a_clip_is_plain_and_gets_unit_scale_too() -> None:
    data = _with_a_constant_feature()
    unclipped = ClippedStandardObservationScaler(clip=None)
    fit_observation_scaler(unclipped, data)
    assert unclipped.std[0] == 1.0


def test_a_feature_constant_in_both_datasets_stays_constant_in_their_union() -> None:
    expert = _with_a_constant_feature()
    mean, std = expert.observation_statistics
    mean = mean.copy()
    mean[0] = 3.7  # the same non-zero constant in both: the pooled formula leaves a residue
    expert.observation_statistics = (mean, std)
    logged = offline_iq.load_minari("hopper/medium-v0", n_trajectories=4)  # residue 1e-3 here
    l_mean, l_std = (a.copy() for a in logged.observation_statistics)
    l_mean[0], l_std[0] = 3.7, 0.0
    logged.observation_statistics = (l_mean, l_std)
    union = join_logged(expert, logged)
    assert union.observation_statistics[1][0] == 0.0
    assert union.standard_observation_scaler().std[0] == 1.0
    assert (union.observation_statistics[1][1:] > 0).all()
