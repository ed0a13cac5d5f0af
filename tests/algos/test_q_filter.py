"""The actor's behaviour-cloning terms of continuous IQ-Learn (Q-filtered and always-on), on
hand-computed cases."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import offline_iq
from offline_iq.algos.torch.continuous_iq_parts import expert_bc_loss
from offline_iq.algos.torch.iq_impl import IQLearnImpl, PolicySamples


class PeakedQ:
    """Q(s, a) = -(a - 0.5)^2 whatever the state: the best action is 0.5."""

    def compute_expected_q(self, x: torch.Tensor, a: torch.Tensor, reduction: str) -> torch.Tensor:
        return -((a - 0.5) ** 2)


class Batch:
    def __init__(self, actions: list[float], is_expert: list[bool]) -> None:
        self.observations = torch.zeros(len(actions), 2)
        self.actions = torch.tensor(actions).reshape(-1, 1)
        self._mask = torch.tensor(is_expert)

    def expert_mask(self) -> torch.Tensor:
        return self._mask


def _impl(weight: float = 1.0) -> IQLearnImpl:
    algo = offline_iq.IQLearnConfig(q_filter_bc_weight=weight).create(device="cpu:0")
    algo.create_impl((2,), 1)
    impl = algo.impl
    assert isinstance(impl, IQLearnImpl)
    impl._q_func_forwarder = PeakedQ()  # type: ignore[assignment]
    return impl


def test_only_expert_rows_the_critic_prefers_are_cloned() -> None:
    # rows: expert a = 0.4, 0.9, -0.2 and a policy row; the actor's mean actions 0.0, 0.5, 0.1, 0.0
    # Q(s, a_E) = -0.01, -0.16, -0.49; Q(s, mean) = -0.25, 0, -0.16: only row 0 prefers a_E
    batch: Any = Batch([0.4, 0.9, -0.2, 0.5], [True, True, True, False])
    mean = torch.tensor([[0.0], [0.5], [0.1], [0.0]], requires_grad=True)
    samples = PolicySamples(torch.zeros(4, 1), torch.zeros(4, 1, 1), mean)
    loss, fraction = _impl().compute_q_filter_bc_loss(batch, samples)
    # (0.0 - 0.4)^2 over 3 expert rows, times mean |Q(s, mean)| = (0.25 + 0 + 0.16 + 0.25) / 4
    scale = 0.66 / 4
    assert float(loss) == pytest.approx(scale * 0.16 / 3)
    assert float(fraction) == pytest.approx(1 / 3)
    loss.backward()
    assert mean.grad is not None
    expected = torch.tensor([[scale * 2 * (0.0 - 0.4) / 3], [0.0], [0.0], [0.0]])
    torch.testing.assert_close(mean.grad, expected)


def test_a_negative_weight_is_rejected() -> None:
    with pytest.raises(ValueError, match="q_filter_bc_weight must be >= 0"):
        offline_iq.IQLearnConfig(q_filter_bc_weight=-1.0)


def test_expert_bc_clones_every_expert_row_unscaled() -> None:
    # the same rows: squared errors 0.16, 0.16, 0.09 on the three expert rows, the policy row out
    batch: Any = Batch([0.4, 0.9, -0.2, 0.5], [True, True, True, False])
    mean = torch.tensor([[0.0], [0.5], [0.1], [0.0]], requires_grad=True)
    loss = expert_bc_loss(mean, batch.actions, batch.expert_mask())
    assert float(loss) == pytest.approx(0.41 / 3)
    loss.backward()
    assert mean.grad is not None
    expected = torch.tensor([[2 * -0.4 / 3], [2 * -0.4 / 3], [2 * 0.3 / 3], [0.0]])
    torch.testing.assert_close(mean.grad, expected)
    no_expert = expert_bc_loss(mean, batch.actions, torch.zeros(4, dtype=torch.bool))
    assert float(no_expert) == 0.0


class FlatQ:
    """Q = 0 everywhere: the SAC term carries only the (small) entropy bonus."""

    def compute_expected_q(self, x: torch.Tensor, a: torch.Tensor, reduction: str) -> torch.Tensor:
        return torch.zeros(a.shape[0], 1)


def _mean_action_error(weight: float) -> tuple[float, float]:
    """The actor's |mean action - 0.5| on expert states before and after 30 actor steps."""
    torch.manual_seed(0)
    algo = offline_iq.IQLearnConfig(q_filter_bc_weight=0.0, expert_bc_weight=weight).create(
        device="cpu:0"
    )
    algo.create_impl((2,), 1)
    impl = algo.impl
    assert isinstance(impl, IQLearnImpl)
    impl._q_func_forwarder = FlatQ()  # type: ignore[assignment]
    batch: Any = Batch([0.5, 0.5, 0.5, -0.9], [True, True, True, False])

    def error() -> float:
        with torch.no_grad():
            return float(
                (impl.policy_samples(batch.observations).mean_actions[:3] - 0.5).abs().mean()
            )

    before = error()
    for _ in range(30):
        samples = impl.policy_samples(batch.observations)
        with torch.no_grad():  # what the step records: the term before its weight, 0 when off
            unweighted = expert_bc_loss(samples.mean_actions, batch.actions, batch.expert_mask())
        record = impl._update_actor(batch, samples)
        expected = float(unweighted) if weight > 0 else 0.0
        assert float(record.expert_bc_loss) == pytest.approx(expected)
    return before, error()


def test_the_expert_bc_weight_pulls_the_actor_to_the_expert_action() -> None:
    before, after = _mean_action_error(10.0)
    assert after < 0.2 * before
    unanchored_before, unanchored_after = _mean_action_error(0.0)
    assert unanchored_before == pytest.approx(before)
    assert unanchored_after > 0.5 * unanchored_before


def test_state_only_ignores_the_expert_bc_weight() -> None:
    algo = offline_iq.IQLearnConfig(expert_bc_weight=3.0, state_only=True).create(device="cpu:0")
    algo.create_impl((2,), 1)
    assert isinstance(algo.impl, IQLearnImpl)
    assert algo.impl._expert_bc_weight == 0.0
    with pytest.raises(ValueError, match="expert_bc_weight must be >= 0"):
        offline_iq.IQLearnConfig(expert_bc_weight=-1.0)
