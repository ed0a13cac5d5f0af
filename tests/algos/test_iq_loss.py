"""The IQ-Learn critic loss on tensors small enough to compute by hand."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from d3rlpy.dataclass_utils import asdict_as_float

from offline_iq.algos.iq_loss import (
    IQLoss,
    IQObjective,
    iq_loss,
    soft_value,
)
from offline_iq.algos.penalties import interpolation_gradient_penalty
from offline_iq.algos.torch.updates import as_floats

GAMMA = 0.9


def _batch() -> dict[str, torch.Tensor]:
    # y = (1 - d) * 0.9 * V(s') = [0.45, 0, 0.9]; r = Q - y = [0.55, 2.0, -0.4]
    return {
        "q": torch.tensor([[1.0], [2.0], [0.5]], dtype=torch.float64, requires_grad=True),
        "v": torch.tensor([[0.5], [1.0], [0.2]], dtype=torch.float64),
        "next_v": torch.tensor([[0.5], [2.0], [1.0]], dtype=torch.float64),
        "terminals": torch.tensor([[0.0], [1.0], [0.0]], dtype=torch.float64),
        "is_expert": torch.tensor([True, True, False]),
    }


def test_chi2_value_expert_by_hand() -> None:
    b = _batch()
    out = iq_loss(IQObjective(gamma=GAMMA, divergence="chi2", chi2_alpha=0.5), **b)
    # phi(r) = r - r^2 / 2 on expert rows: [0.39875, 0.0] -> softq = -0.199375
    assert float(out.softq_loss) == pytest.approx(-0.199375)
    # value_expert = mean over expert rows of V(s) - y = mean(0.05, 1.0)
    assert float(out.value_loss) == pytest.approx(0.525)
    assert float(out.loss) == pytest.approx(0.325625)
    assert float(out.reward_expert) == pytest.approx(1.275)
    assert float(out.reward_policy) == pytest.approx(-0.4)
    out.loss.backward()
    # d/dq_i = -(1 - r_i) / 2 on expert rows (1 - r/(2 alpha) = 1 - r), 0 on the policy row
    assert b["q"].grad is not None
    assert b["q"].grad.flatten().tolist() == pytest.approx([-0.225, 0.5, 0.0])


def test_value_over_all_rows_and_v0() -> None:
    b = _batch()
    value = iq_loss(IQObjective(gamma=GAMMA, value_objective="value"), **b)
    assert float(value.value_loss) == pytest.approx((0.05 + 1.0 - 0.7) / 3)
    v0 = iq_loss(
        IQObjective(gamma=GAMMA, value_objective="v0"), **b, initial_v=torch.tensor([[1.0], [3.0]])
    )
    assert float(v0.value_loss) == pytest.approx((1 - GAMMA) * 2.0)
    with pytest.raises(ValueError, match="needs initial_v"):
        iq_loss(IQObjective(gamma=GAMMA, value_objective="v0"), **b)


def test_chi2_on_the_mixture_by_hand() -> None:
    out = iq_loss(IQObjective(gamma=GAMMA, chi2_alpha=0.5, chi2_on_mixture=True), **_batch())
    assert float(out.softq_loss) == pytest.approx(-(0.55 + 2.0) / 2)
    # (0.55^2 + 2^2 + 0.4^2) / 3 / (4 * 0.5)
    assert float(out.chi2_loss) == pytest.approx((0.3025 + 4.0 + 0.16) / 3 / 2)
    assert float(out.loss) == pytest.approx(-1.275 + 0.525 + 0.74375)


def test_truncation_bootstraps_termination_does_not() -> None:
    b = _batch()
    b["terminals"] = torch.zeros(3, 1, dtype=torch.float64)  # all truncated or mid-episode
    out = iq_loss(IQObjective(gamma=GAMMA, divergence="w1"), **b)
    # r = [1 - 0.45, 2 - 1.8] on expert rows; phi = identity
    assert float(out.softq_loss) == pytest.approx(-(0.55 + 0.2) / 2)


def test_state_only_weights_average_after_phi() -> None:
    out = iq_loss(
        IQObjective(gamma=GAMMA, chi2_alpha=0.5),
        q=torch.tensor([[1.0, 3.0]]),
        q_weights=torch.tensor([[0.25, 0.75]]),
        v=torch.zeros(1, 1),
        next_v=torch.zeros(1, 1),
        terminals=torch.ones(1, 1),
        is_expert=torch.tensor([True]),
    )
    # 0.25 * phi(1) + 0.75 * phi(3) = 0.25 * 0.5 + 0.75 * (3 - 4.5) = -1.0
    assert float(out.softq_loss) == pytest.approx(1.0)


def test_gradient_penalty_weight_and_value() -> None:
    critic = lambda x: 3.0 * x.sum(dim=1, keepdim=True)  # noqa: E731  gradient norm 3 sqrt(2)
    gp = interpolation_gradient_penalty(critic, torch.zeros(4, 2), torch.ones(4, 2), lipschitz=1.0)
    assert float(gp) == pytest.approx((3 * math.sqrt(2) - 1) ** 2, rel=1e-6)
    w1 = IQObjective(gamma=GAMMA, divergence="w1")
    base = iq_loss(w1, **_batch())
    with_gp = iq_loss(dataclasses.replace(w1, gp_weight=10.0), **_batch(), gradient_penalty=gp)
    assert float(with_gp.loss - base.loss) == pytest.approx(10 * float(gp), rel=1e-6)
    assert float(with_gp.gp_loss) == pytest.approx(float(gp)) and float(base.gp_loss) == 0.0


def test_soft_value_by_hand() -> None:
    q = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    assert float(soft_value(q, 1.0)) == pytest.approx(math.log(math.e + math.e**2))
    assert float(soft_value(q, 0.5)) == pytest.approx(0.5 * math.log(math.e**2 + math.e**4))


def test_bad_inputs() -> None:
    b = _batch()
    with pytest.raises(ValueError, match="at least one expert row"):
        iq_loss(IQObjective(gamma=GAMMA), **{**b, "is_expert": torch.zeros(3, dtype=torch.bool)})
    with pytest.raises(ValueError, match=r"v must have shape \(3, 1\)"):
        iq_loss(IQObjective(gamma=GAMMA), **{**b, "v": torch.zeros(3)})
    with pytest.raises(ValueError, match="requires divergence='chi2'"):
        IQObjective(gamma=GAMMA, divergence="kl", chi2_on_mixture=True)


def test_offline_chi2_is_scaled_cross_entropy_plus_a_reward_penalty() -> None:
    # With V = alpha logsumexp(Q / alpha) and the value term on expert rows, the bootstrap
    # cancels: -(Q(s,a) - y) + (V(s) - y) = V(s) - Q(s,a) = -alpha log pi(a|s). So the offline
    # chi2 loss is alpha * cross-entropy of the expert actions + E[r^2] / (4 alpha_chi2).
    gen = torch.Generator().manual_seed(0)
    q_all = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    actions = torch.tensor([0, 2, 1, 1, 0, 2]).reshape(-1, 1)
    next_v = torch.randn(6, 1, generator=gen, dtype=torch.float64)
    terminals = torch.tensor([[0.0], [0.0], [1.0], [0.0], [0.0], [1.0]], dtype=torch.float64)
    alpha, chi2_alpha = 0.3, 0.7
    q = q_all.gather(1, actions)
    out = iq_loss(
        IQObjective(gamma=GAMMA, chi2_alpha=chi2_alpha),
        q=q,
        v=soft_value(q_all, alpha),
        next_v=next_v,
        terminals=terminals,
        is_expert=torch.ones(6, dtype=torch.bool),
    )
    cross_entropy = torch.nn.functional.cross_entropy(q_all / alpha, actions.reshape(-1))
    reward = q - (1 - terminals) * GAMMA * next_v
    expected = alpha * cross_entropy + reward.pow(2).mean() / (4 * chi2_alpha)
    assert float(out.loss) == pytest.approx(float(expected), rel=1e-12)


@pytest.mark.parametrize(
    "objective",
    [
        IQObjective(),
        IQObjective(value_objective="value", chi2_on_mixture=True),
        IQObjective(divergence="tv", absorbing=True, bounded_targets=True),
        IQObjective(divergence="js"),
    ],
)
@pytest.mark.parametrize("k", [1, 3])
def test_no_mask_is_every_row_expert_bit_for_bit(objective: IQObjective, k: int) -> None:
    # offline batches pass is_expert=None: it must give what an all-True mask gives, exactly

    def run(is_expert: torch.Tensor | None) -> tuple[list[float], torch.Tensor]:
        q = torch.randn(64, k, generator=torch.Generator().manual_seed(7)).requires_grad_()
        out = iq_loss(
            objective,
            q=q,
            v=soft_value(q, 0.1),
            next_v=torch.randn(64, 1, generator=torch.Generator().manual_seed(8)),
            terminals=(torch.arange(64) % 5 == 0).float().reshape(-1, 1),
            is_expert=is_expert,
            q_weights=torch.softmax(q.detach(), dim=1) if k > 1 else None,
        )
        out.loss.backward()
        assert q.grad is not None
        return [float(getattr(out, f.name)) for f in dataclasses.fields(out)], q.grad

    values, grad = run(None)
    mask_values, mask_grad = run(torch.ones(64, dtype=torch.bool))
    assert values == mask_values and torch.equal(grad, mask_grad)


@dataclasses.dataclass(frozen=True)
class _Record:
    step: torch.Tensor
    rate: float


def test_as_floats_is_d3rlpys_asdict_as_float_in_one_go() -> None:
    out = iq_loss(IQObjective(gamma=GAMMA), **_batch())  # float64 records
    record = _Record(step=torch.tensor(3, dtype=torch.int64), rate=0.25)
    assert as_floats(out) == asdict_as_float(out)
    assert as_floats(out, record) == {**asdict_as_float(out), "step": 3.0, "rate": 0.25}
    single = _Record(step=torch.tensor(0.1, dtype=torch.float32), rate=1.0)
    assert as_floats(out, single)["step"] == float(torch.tensor(0.1, dtype=torch.float32))


def test_reward_bound_and_the_absorbing_value_by_hand() -> None:
    # 2 alpha for chi2 (the largest reward on expert rows; on the mixture LS-IQ's bound is
    # 4 alpha, kept at 2 alpha by measurement: IQObjective.reward_bound), R for TV
    assert IQObjective(chi2_alpha=0.5, chi2_on_mixture=True).reward_bound() == 1.0
    assert IQObjective(chi2_alpha=0.5).reward_bound() == 1.0
    assert IQObjective(divergence="tv", tv_bound=3.0).reward_bound() == 3.0
    obj = IQObjective(gamma=GAMMA, chi2_alpha=0.25, chi2_on_mixture=True, absorbing=True)
    b = _batch()  # rows: expert, expert (terminal), policy; V(s') = [0.5, 2.0, 1.0]
    b["terminals"] = torch.tensor([[0.0], [1.0], [1.0]], dtype=torch.float64)
    reward, y = obj.implicit_reward(b["q"], b["next_v"], b["terminals"], b["is_expert"])
    # absorbing value -R / (1 - gamma) = -0.5 / 0.1 = -5 on every terminal row (a failure,
    # whoever ends: expert_terminations="failure"); Q = [1.0, 2.0, 0.5]
    assert y.flatten().tolist() == pytest.approx([0.45, -4.5, -4.5])
    assert reward.flatten().tolist() == pytest.approx([0.55, 6.5, 5.0])
    out = iq_loss(obj, **b)  # the loss logs the same rewards
    assert float(out.reward_expert) == pytest.approx((0.55 + 6.5) / 2)
    assert float(out.reward_policy) == pytest.approx(5.0)
    # "goal" (LS-IQ): +5 on the expert's terminal row, -5 on the policy's
    goal = dataclasses.replace(obj, expert_terminations="goal")
    reward, y = goal.implicit_reward(b["q"], b["next_v"], b["terminals"], b["is_expert"])
    assert y.flatten().tolist() == pytest.approx([0.45, 4.5, -4.5])
    assert reward.flatten().tolist() == pytest.approx([0.55, -2.5, 5.0])
    _, y = goal.implicit_reward(b["q"], b["next_v"], b["terminals"], None)  # every row expert
    assert y.flatten().tolist() == pytest.approx([0.45, 4.5, 4.5])
    _, y = obj.implicit_reward(b["q"], b["next_v"], b["terminals"], None)
    assert y.flatten().tolist() == pytest.approx([0.45, -4.5, -4.5])
    with pytest.raises(ValueError, match="expert_terminations must be one of"):
        IQObjective(expert_terminations="success")  # type: ignore[arg-type]
    clipped = dataclasses.replace(obj, absorbing=False, bounded_targets=True, chi2_alpha=0.04)
    # limit 0.08 / 0.1 = 0.8: V(s') = [0.5, 2.0, 1.0] -> [0.5, 0.8, 0.8]; rows 1, 2 terminal
    _, y = clipped.implicit_reward(b["q"], b["next_v"], b["terminals"], b["is_expert"])
    assert y.flatten().tolist() == pytest.approx([0.45, 0.0, 0.0])
    _, y = clipped.implicit_reward(b["q"], b["next_v"], torch.zeros_like(b["terminals"]), None)
    assert y.flatten().tolist() == pytest.approx([0.45, 0.72, 0.72])


@pytest.mark.parametrize("chi2_on_mixture", [False, True])
@pytest.mark.parametrize("value_objective", ["value_expert", "value"])
def test_logged_rows_never_enter_the_expert_terms(
    chi2_on_mixture: bool, value_objective: str
) -> None:
    """Rows marked non-expert (logs, replay) leave -E_expert[phi(r)] and the logged expert
    means untouched: no value of theirs changes them, and no gradient reaches them."""
    objective = IQObjective(chi2_on_mixture=chi2_on_mixture, value_objective=value_objective)  # type: ignore[arg-type]
    mask = torch.tensor([False, True, False, True])
    generator = torch.Generator().manual_seed(0)

    def loss(q: torch.Tensor, next_v: torch.Tensor) -> IQLoss:
        return iq_loss(
            objective, q=q, v=torch.zeros(4, 1), next_v=next_v,
            terminals=torch.zeros(4, 1), is_expert=mask,
        )  # fmt: skip

    q = torch.randn(4, 1, generator=generator, requires_grad=True)
    next_v = torch.randn(4, 1, generator=generator, requires_grad=True)
    first = loss(q, next_v)
    first.softq_loss.backward()
    assert q.grad is not None and next_v.grad is not None
    assert torch.all(q.grad[~mask] == 0) and torch.all(next_v.grad[~mask] == 0)
    assert torch.all(q.grad[mask] != 0)
    other = loss(
        torch.where(mask[:, None], q, q + 100.0).detach(),
        torch.where(mask[:, None], next_v, -next_v).detach(),
    )
    assert other.softq_loss == first.softq_loss and other.reward_expert == first.reward_expert


def test_logged_bc_weight_by_hand() -> None:
    """lambda * E_logged[V(s) - Q(s, a)]: soft BC of the policy (logged) rows only."""
    q = torch.tensor([[1.0], [2.0], [0.5], [3.0]], requires_grad=True)
    v = torch.tensor([[1.5], [2.5], [1.0], [2.0]])
    mask = torch.tensor([True, True, False, False])
    common = dict(q=q, v=v, next_v=torch.zeros(4, 1), terminals=torch.zeros(4, 1), is_expert=mask)
    plain = iq_loss(IQObjective(chi2_on_mixture=True), **common)
    cloned = iq_loss(IQObjective(chi2_on_mixture=True, logged_bc_weight=0.5), **common)
    # logged rows: V - Q = 0.5 and -1.0, mean -0.25, times 0.5
    assert plain.logged_bc_loss.item() == 0.0
    assert cloned.logged_bc_loss.item() == pytest.approx(-0.125)
    assert (cloned.loss - plain.loss).item() == pytest.approx(-0.125)
    cloned.logged_bc_loss.backward()
    assert q.grad is not None
    assert q.grad.reshape(-1).tolist() == pytest.approx([0.0, 0.0, -0.25, -0.25])
    # on a logged row it is the expert rows' linear terms -r + V(s) - gamma V(s'), with
    # r = Q - gamma V(s'): V(s') cancels, so the next values never change it
    next_v = torch.tensor([[0.3], [0.1], [0.7], [-0.2]])
    objective = IQObjective(chi2_on_mixture=True, logged_bc_weight=0.5)
    moved = iq_loss(objective, **{**common, "next_v": next_v})
    assert moved.logged_bc_loss.item() == pytest.approx(-0.125)
    assert moved.chi2_loss.item() != cloned.chi2_loss.item()  # the next values did matter there
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="logged_bc_weight must be >= 0"):
            IQObjective(logged_bc_weight=bad)
    with pytest.raises(ValueError, match="does nothing with state_only"):
        IQObjective(state_only=True, logged_bc_weight=0.5)


def test_logged_bc_weight_is_soft_bc_of_the_logged_actions() -> None:
    """With V the soft value of the discrete Q, the term's gradient on a logged row's Q values is
    lambda (pi - onehot(a)) / n_logged: it raises the logged action's probability."""
    alpha, weight = 0.5, 0.8
    q_all = torch.tensor([[0.0, 1.0], [2.0, 0.0], [0.3, -0.2], [1.0, 1.5]], requires_grad=True)
    actions = torch.tensor([1, 0, 0, 1])
    mask = torch.tensor([True, True, False, False])
    out = iq_loss(
        IQObjective(chi2_on_mixture=True, logged_bc_weight=weight),
        q=q_all.gather(1, actions[:, None]), v=soft_value(q_all, alpha),
        next_v=torch.zeros(4, 1), terminals=torch.zeros(4, 1), is_expert=mask,
    )  # fmt: skip
    out.logged_bc_loss.backward()
    pi = torch.softmax(q_all.detach() / alpha, dim=1)
    onehot = torch.nn.functional.one_hot(actions, 2).float()
    expected = weight * (pi - onehot) / 2
    expected[mask] = 0.0
    assert q_all.grad is not None
    torch.testing.assert_close(q_all.grad, expected)
    # and its value is lambda * mean over logged rows of -alpha log pi(a|s)
    log_pi = torch.log(pi.gather(1, actions[:, None])).reshape(-1)
    assert out.logged_bc_loss.item() == pytest.approx(weight * (-alpha * log_pi[2:]).mean().item())
