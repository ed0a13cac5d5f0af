"""The actor's spatial smoothness term of continuous IQ-Learn (candidate 7 of issue 19), on
hand-computed cases and a few actor steps."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import offline_iq
from offline_iq.algos.torch.continuous_iq_parts import policy_smoothness_loss
from offline_iq.algos.torch.iq_impl import IQLearnImpl


def test_smoothness_is_the_mean_squared_action_change_per_state() -> None:
    mean = torch.tensor([[0.1, 0.2], [0.0, -0.5]], requires_grad=True)
    nearby = torch.tensor([[0.3, 0.2], [0.0, 0.0]], requires_grad=True)
    loss = policy_smoothness_loss(mean, nearby)
    # rows: 0.2^2 + 0 and 0 + 0.5^2, averaged over the 2 states
    assert loss.item() == pytest.approx((0.04 + 0.25) / 2)
    loss.backward()
    assert nearby.grad is not None and mean.grad is not None
    # d/d nearby = 2 (nearby - mean) / B; both sides carry gradient, with opposite signs
    torch.testing.assert_close(nearby.grad, torch.tensor([[0.2, 0.0], [0.0, 0.5]]))
    torch.testing.assert_close(mean.grad, -nearby.grad)


class FlatQ:
    """Q = 0 everywhere: the SAC term carries only the (small) entropy bonus."""

    def compute_expected_q(self, x: torch.Tensor, a: torch.Tensor, reduction: str) -> torch.Tensor:
        return torch.zeros(a.shape[0], 1)


class Batch:
    def __init__(self, observations: torch.Tensor) -> None:
        self.observations = observations
        self.actions = torch.zeros(len(observations), 2)

    def expert_mask(self) -> torch.Tensor:
        return torch.zeros(len(self.observations), dtype=torch.bool)


def _impl(weight: float, sigma: float) -> IQLearnImpl:
    torch.manual_seed(0)
    algo = offline_iq.IQLearnConfig(
        q_filter_bc_weight=0.0, smoothness_weight=weight, smoothness_sigma=sigma
    ).create(device="cpu:0")
    algo.create_impl((3,), 2)
    impl = algo.impl
    assert isinstance(impl, IQLearnImpl)
    impl._q_func_forwarder = FlatQ()  # type: ignore[assignment]
    return impl


def _sensitivity(impl: IQLearnImpl, obs: torch.Tensor) -> float:
    """Mean squared change of the actor's action when each state moves by 0.5 on every axis."""
    with torch.no_grad():
        here = impl.policy_samples(obs).mean_actions
        there = impl.policy_samples(obs + 0.5).mean_actions
    return float(((there - here) ** 2).sum(dim=1).mean())


def test_the_smoothness_weight_makes_the_actor_flatter_around_its_states() -> None:
    obs = torch.randn(64, 3, generator=torch.Generator().manual_seed(1)) * 2.0
    batch: Any = Batch(obs)
    results = {}
    for weight in (0.0, 10.0):
        impl = _impl(weight, sigma=0.5)
        before = _sensitivity(impl, obs)
        for _ in range(40):
            record = impl._update_actor(batch, impl.policy_samples(obs))
            assert (float(record.smoothness_loss) > 0) == (weight > 0)
        results[weight] = (before, _sensitivity(impl, obs))
    assert results[0.0][0] == pytest.approx(results[10.0][0])  # the same initial actor
    assert results[10.0][1] < 0.5 * results[0.0][1]


def _flat_grad(module: torch.nn.Module) -> torch.Tensor:
    """Every parameter's gradient, flattened; 0 where a parameter got none."""
    return torch.cat(
        [
            (p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
            for p in module.parameters()
        ]
    )


def _actor_gradient(impl: IQLearnImpl, obs: torch.Tensor, seed: int) -> tuple[torch.Tensor, float]:
    """The actor's gradient after one ``_update_actor`` (its optimizer step switched off), and
    the step's recorded smoothness loss; ``seed`` fixes the policy samples and the noise."""
    impl._modules.actor_optim.step = lambda: None  # type: ignore[method-assign]
    torch.manual_seed(seed)
    samples = impl.policy_samples(obs)
    record = impl._update_actor(Batch(obs), samples)  # type: ignore[arg-type]
    return _flat_grad(impl._modules.policy), float(record.smoothness_loss)


def test_the_term_enters_the_actor_gradient_with_its_weight_and_sigma() -> None:
    obs = torch.randn(16, 3, generator=torch.Generator().manual_seed(3))
    sigma, weight = 0.3, 10.0
    plain, plain_record = _actor_gradient(_impl(0.0, sigma), obs, seed=7)
    smooth_impl = _impl(weight, sigma)
    smoothed, record = _actor_gradient(smooth_impl, obs, seed=7)
    assert plain_record == 0.0
    # the same draws by hand: the policy samples first, then eps for the moved states
    policy = smooth_impl._modules.policy
    torch.manual_seed(7)
    smooth_impl.policy_samples(obs)
    nearby = obs + sigma * torch.randn_like(obs)
    policy.zero_grad()
    expected = policy_smoothness_loss(torch.tanh(policy(obs).mu), torch.tanh(policy(nearby).mu))
    expected.backward()
    term = _flat_grad(policy)
    assert record == pytest.approx(expected.item(), rel=1e-6)
    # the term's own gradient (through both sides), times its weight, and nothing else changed
    torch.testing.assert_close(smoothed - plain, weight * term, rtol=1e-4, atol=1e-6)


def test_zero_sigma_leaves_nothing_to_smooth_and_bad_values_are_refused() -> None:
    impl = _impl(10.0, sigma=0.0)
    obs = torch.randn(8, 3, generator=torch.Generator().manual_seed(2))
    record = impl._update_actor(Batch(obs), impl.policy_samples(obs))  # type: ignore[arg-type]
    assert float(record.smoothness_loss) == 0.0
    with pytest.raises(ValueError, match="smoothness_weight and smoothness_sigma must be >= 0"):
        offline_iq.IQLearnConfig(smoothness_weight=-1.0)
    with pytest.raises(ValueError, match="smoothness_weight and smoothness_sigma must be >= 0"):
        offline_iq.IQLearnConfig(smoothness_sigma=-0.1)
