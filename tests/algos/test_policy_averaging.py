"""Continuous IQ-Learn's averaged policy: a moving average of the actor that acts but never
trains, checked against the recurrence computed by hand from the actor's iterates."""

from __future__ import annotations

from typing import Any

import d3rlpy
import numpy as np
import pytest
import torch

import offline_iq
from offline_iq.algos.torch.iq_impl import IQLearnImpl
from offline_iq.data import load_minari


def _weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _step(algo: Any, data: Any) -> None:
    algo.fit(
        data,
        n_steps=1,
        n_steps_per_epoch=1,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
        show_progress=False,
    )


def _impl(algo: Any) -> IQLearnImpl:
    assert isinstance(algo.impl, IQLearnImpl)
    return algo.impl


def test_the_average_follows_the_recurrence_and_leaves_training_unchanged() -> None:
    data = load_minari("pendulum/expert-v0", n_trajectories=1, seed=0)
    beta = 0.25
    runs = {}
    for rate in (beta, 0.0):
        d3rlpy.seed(0)
        algo = offline_iq.IQLearnConfig(batch_size=16, policy_averaging=rate).create("cpu:0")
        algo.build_with_dataset(data)
        iterates = [_weights(_impl(algo).policy)]
        for _ in range(2):
            _step(algo, data)
            iterates.append(_weights(_impl(algo).policy))
        runs[rate] = (algo, iterates)
    averaged, iterates = runs[beta]
    plain, plain_iterates = runs[0.0]
    # the last iterate trains exactly as without averaging, bit for bit
    for ours, theirs in zip(iterates, plain_iterates, strict=True):
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
    for a, b in zip(
        _impl(averaged).q_function.parameters(), _impl(plain).q_function.parameters(), strict=True
    ):
        assert torch.equal(a, b)
    # phi_bar_0 = phi_0; phi_bar_t = (1 - beta) phi_bar_{t-1} + beta phi_t
    w0, w1, w2 = iterates
    expected = [
        (1 - beta) * ((1 - beta) * a + beta * b) + beta * c
        for a, b, c in zip(w0, w1, w2, strict=True)
    ]
    average = _impl(averaged).acting_policy
    assert average is not _impl(averaged).policy
    for got, want in zip(average.parameters(), expected, strict=True):
        torch.testing.assert_close(got.detach(), want, rtol=0, atol=1e-7)
    assert _impl(plain).acting_policy is _impl(plain).policy
    # predict acts with the average: tanh of its mean, back through the action scaler (-2..2)
    obs = data.transitions.observations[:8]
    with torch.no_grad():
        x = averaged.config.observation_scaler.transform(torch.as_tensor(obs))
        by_hand = 2.0 * torch.tanh(average(x).mu).numpy()
    np.testing.assert_allclose(averaged.predict(obs), by_hand, rtol=1e-6, atol=1e-6)
    assert not np.allclose(averaged.predict(obs), plain.predict(obs))


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan")])
def test_a_rate_outside_zero_one_is_rejected(rate: float) -> None:
    with pytest.raises(ValueError, match="policy_averaging"):
        offline_iq.IQLearnConfig(policy_averaging=rate)
