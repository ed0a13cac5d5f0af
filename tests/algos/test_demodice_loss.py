"""DemoDICE's losses on tensors computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from offline_iq.algos.demodice_loss import (
    advantage,
    discriminator_loss,
    nu_loss,
    policy_weights,
    reward_from_logits,
    union_weights,
    weighted_bc_loss,
    weighted_log_mean_exp,
    weighted_mean,
)
from offline_iq.algos.penalties import interpolation_gradient_penalty

LN2, LN3 = math.log(2.0), math.log(3.0)
# two logged rows, then two expert rows (as fit_mixed builds a batch)
IS_EXPERT = torch.tensor([False, False, True, True])
# p_E = 0.25: each logged row (1 - 0.25) / 2 = 0.375, each expert row 0.25 / 2 = 0.125
UNION = [0.375, 0.375, 0.125, 0.125]
# x = [ln 2, ln 4, ln 8, 0]: sum_i u_i e^x_i = 0.375*2 + 0.375*4 + 0.125*8 + 0.125*1 = 3.375
X = torch.tensor([LN2, 2 * LN2, 3 * LN2, 0.0], dtype=torch.float64)
MEAN_EXP = 3.375


def test_union_weights_split_p_e_and_its_complement() -> None:
    assert union_weights(IS_EXPERT, 0.25).tolist() == pytest.approx(UNION)
    # no logged rows (fit on the demonstrations alone): the union is the expert data
    assert union_weights(torch.tensor([True, True]), 0.25).tolist() == pytest.approx([0.5, 0.5])
    with pytest.raises(ValueError, match="at least one expert row"):
        union_weights(torch.tensor([False, False]), 0.5)
    with pytest.raises(ValueError, match=r"expert_share must be in \(0, 1\]"):
        union_weights(IS_EXPERT, 0.0)


def test_weighted_mean_and_log_mean_exp_by_hand() -> None:
    weights = union_weights(IS_EXPERT, 0.25)
    # 0.375 (ln2 + 2 ln2) + 0.125 (3 ln2 + 0) = 1.5 ln 2
    assert float(weighted_mean(X, weights)) == pytest.approx(1.5 * LN2)
    # log(3.375) = 3 log(1.5); unnormalised weights give the same value
    assert float(weighted_log_mean_exp(X, weights)) == pytest.approx(math.log(MEAN_EXP))
    assert float(weighted_log_mean_exp(X, 8 * weights)) == pytest.approx(3 * math.log(1.5))
    # huge values do not overflow: log-mean-exp(x + 1000) = 1000 + log-mean-exp(x)
    big = weighted_log_mean_exp(X + 1000.0, weights)
    assert float(big) == pytest.approx(1000.0 + math.log(MEAN_EXP))


def test_reward_is_the_discriminators_logit() -> None:
    logits = torch.tensor([[0.0], [LN3], [-2.0]], requires_grad=True)
    reward = reward_from_logits(logits)
    c = torch.sigmoid(logits.detach())
    # c = [1/2, 3/4, ...]: log c - log(1 - c) = [0, log 3, -2]
    assert reward.flatten().tolist() == pytest.approx([0.0, LN3, -2.0], abs=1e-6)
    assert reward.flatten().tolist() == pytest.approx(
        (torch.log(c) - torch.log1p(-c)).flatten().tolist(), abs=1e-5
    )
    assert not reward.requires_grad


def test_discriminator_loss_by_hand() -> None:
    # rows: logged [ln 3, -ln 3], expert [0, ln 3]
    logits = torch.tensor([[LN3], [-LN3], [0.0], [LN3]], dtype=torch.float64)
    # -log sigmoid: l = 0 -> ln 2, l = ln 3 (c = 3/4) -> ln(4/3)
    expert_term = (LN2 + math.log(4 / 3)) / 2
    # -log(1 - sigmoid): ln 3 -> ln 4, -ln 3 -> ln(4/3), 0 -> ln 2
    # p_E = 0.2: logged rows 0.4 each, expert rows 0.1 each
    union_term = 0.4 * (math.log(4) + math.log(4 / 3)) + 0.1 * (LN2 + math.log(4))
    weights = union_weights(IS_EXPERT, 0.2)
    out = discriminator_loss(logits[IS_EXPERT], logits, weights)
    assert float(out.cross_entropy) == pytest.approx(expert_term + union_term)
    assert float(out.total) == pytest.approx(expert_term + union_term)
    assert float(out.gradient_penalty) == 0.0

    # the gradient penalty: f(x) = 3 x_1 + 4 x_2 has gradient norm 5 everywhere, (5 - 1)^2 = 16
    critic_weight = torch.tensor([[3.0], [4.0]], dtype=torch.float64)
    expert_inputs, union_inputs = torch.randn(5, 2).double(), torch.randn(5, 2).double()
    penalty = interpolation_gradient_penalty(
        lambda x: x @ critic_weight, expert_inputs, union_inputs
    )
    assert float(penalty) == pytest.approx(16.0)
    out = discriminator_loss(logits[IS_EXPERT], logits, weights, penalty, gp_weight=10.0)
    assert float(out.total) == pytest.approx(expert_term + union_term + 160.0)


def test_advantage_by_hand() -> None:
    # R + gamma (1 - d) nu(s') - nu(s), gamma 0.5: [1 + 0.5*2 - 0.5, 0 + 0 - 1] = [1.5, -1]
    adv = advantage(
        reward=torch.tensor([[1.0], [0.0]]),
        nu=torch.tensor([[0.5], [1.0]]),
        next_nu=torch.tensor([[2.0], [4.0]]),
        terminals=torch.tensor([[0.0], [1.0]]),
        gamma=0.5,
    )
    assert adv.flatten().tolist() == pytest.approx([1.5, -1.0])


def test_nu_loss_by_hand_with_union_weights() -> None:
    # alpha = 1: A / (1 + alpha) = X for A = 2 X; gamma = 0.5, initial nu mean 2
    adv = (2 * X).clone().requires_grad_(True)
    weights = union_weights(IS_EXPERT, 0.25)
    out = nu_loss(torch.tensor([1.0, 3.0], dtype=torch.float64), adv, weights, alpha=1.0, gamma=0.5)
    assert float(out.initial) == pytest.approx(0.5 * 2.0)
    assert float(out.nonlinear.detach()) == pytest.approx(2.0 * math.log(MEAN_EXP))
    assert float(out.total.detach()) == pytest.approx(1.0 + 2.0 * math.log(MEAN_EXP))
    # dL/dA_i = u_i e^{A_i / 2} / sum_j u_j e^{A_j / 2} = u_i [2, 4, 8, 1]_i / 3.375
    out.total.backward()
    expected = [u * e / MEAN_EXP for u, e in zip(UNION, [2, 4, 8, 1], strict=True)]
    assert adv.grad is not None
    assert adv.grad.tolist() == pytest.approx(expected)
    # the paper's alpha: (1.05) log E_U[exp(A / 1.05)]
    out = nu_loss(torch.zeros(2), torch.tensor([0.0, 1.05]), torch.ones(2), alpha=0.05, gamma=0.9)
    assert float(out.total) == pytest.approx(1.05 * math.log((1 + math.e) / 2))
    with pytest.raises(ValueError, match="alpha must be > 0"):
        nu_loss(torch.zeros(2), torch.zeros(2), torch.ones(2), alpha=0.0, gamma=0.9)


def test_policy_weights_are_normalised_exponentials_clipped() -> None:
    weights = union_weights(IS_EXPERT, 0.25)
    adv = (2 * X).clone().requires_grad_(True)
    # alpha = 1: e^{A / 2} = [2, 4, 8, 1], divided by their union mean 3.375
    w = policy_weights(adv, weights, alpha=1.0, max_weight=100.0)
    assert w.tolist() == pytest.approx([2 / 3.375, 4 / 3.375, 8 / 3.375, 1 / 3.375])
    assert float(weighted_mean(w, weights)) == pytest.approx(1.0)
    assert not w.requires_grad
    # clipped after normalising: 8 / 3.375 = 2.37 -> 2
    clipped = policy_weights(adv, weights, alpha=1.0, max_weight=2.0)
    assert clipped.tolist() == pytest.approx([2 / 3.375, 4 / 3.375, 2.0, 1 / 3.375])
    # no overflow for large advantages: only differences matter
    shifted = policy_weights(adv + 2000.0, weights, alpha=1.0, max_weight=100.0)
    assert shifted.tolist() == pytest.approx(w.tolist())


def test_weighted_bc_loss_by_hand() -> None:
    log_probs = torch.log(torch.tensor([0.5, 0.25, 1.0, 0.5]))
    w = torch.tensor([1.0, 2.0, 0.5, 1.0])
    # -(0.375*1*(-ln2) + 0.375*2*(-2 ln2) + 0.125*0.5*0 + 0.125*1*(-ln2)) = 2 ln 2
    loss = weighted_bc_loss(log_probs, w, union_weights(IS_EXPERT, 0.25))
    assert float(loss) == pytest.approx(2 * LN2)
