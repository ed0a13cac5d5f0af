r"""DemoDICE's losses (Kim et al., ICLR 2022) as pure functions of tensors.

Notation: :math:`d^E` the expert's state-action distribution, :math:`d^U` the union's (expert
and imperfect / logged data, :math:`D_U = D_E \cup D_O`), :math:`\alpha > 0` the weight of the
KL to :math:`d^U`, :math:`p_0` the union's initial states.

1. A discriminator :math:`c(s, a) \in (0, 1)` maximises
   :math:`\mathbb{E}_{d^E}[\log c] + \mathbb{E}_{d^U}[\log(1 - c)]` (here: minimises its
   negation, plus :math:`\lambda_c\,\mathbb{E}[(\lVert\nabla c_\text{logit}(\hat x)\rVert - 1)^2]`
   on interpolates :math:`\hat x` of expert and union inputs). At the optimum
   :math:`c = d^E / (d^E + d^U)`, so the reward
   :math:`R(s, a) = \log c - \log(1 - c)`, the discriminator's logit, estimates
   :math:`\log d^E / d^U`.
2. With :math:`A_\nu(s, a, s') = R(s, a) + \gamma (1 - \text{terminal}) \nu(s') - \nu(s)`,
   the state value :math:`\nu` minimises the closed-form dual

   .. math::

       L(\nu) = (1 - \gamma)\,\mathbb{E}_{s_0 \sim p_0}[\nu(s_0)]
           + (1 + \alpha) \log \mathbb{E}_{d^U}\big[e^{A_\nu / (1 + \alpha)}\big].

3. The optimal ratio :math:`d^\pi / d^U` is proportional to
   :math:`w = e^{A_\nu / (1 + \alpha)}`; the policy minimises the weighted behaviour cloning
   loss :math:`-\mathbb{E}_{d^U}[w \log \pi(a \mid s)]` with :math:`w` self-normalised (divided
   by its :math:`d^U`-mean over the batch), clipped at ``max_weight`` and held constant.

A batch holds rows of both datasets, not necessarily in their natural proportions (``fit_mixed``
draws ``n`` logged then ``n`` expert rows). Every :math:`\mathbb{E}_{d^U}` is therefore a
weighted mean with :func:`union_weights`: :math:`p_E = |D_E| / (|D_E| + |D_O|)` spread evenly over
the expert rows and :math:`1 - p_E` over the logged rows; the log-mean-exp is
``logsumexp(x + log u) - log(sum u)``.

References:
    * `Kim et al., DemoDICE: Offline Imitation Learning with Supplementary Imperfect
      Demonstrations. ICLR 2022. <https://openreview.net/forum?id=BrPdX1bDZkQ>`_
"""

from __future__ import annotations

import dataclasses

import torch
from torch.nn import functional as F

__all__ = [
    "DiscriminatorLoss",
    "NuLoss",
    "advantage",
    "discriminator_loss",
    "nu_loss",
    "policy_weights",
    "reward_from_logits",
    "union_weights",
    "weighted_bc_loss",
    "weighted_log_mean_exp",
    "weighted_mean",
]


@dataclasses.dataclass(frozen=True)
class DiscriminatorLoss:
    """The discriminator's loss: its cross-entropy plus ``gp_weight`` times the penalty."""

    total: torch.Tensor
    cross_entropy: torch.Tensor  # -E_E[log c] - E_U[log(1 - c)]
    gradient_penalty: torch.Tensor  # before its weight


@dataclasses.dataclass(frozen=True)
class NuLoss:
    r""":math:`L(\nu)` and its two terms."""

    total: torch.Tensor
    initial: torch.Tensor  # (1 - gamma) E_p0[nu(s0)]
    nonlinear: torch.Tensor  # (1 + alpha) log E_U[exp(A / (1 + alpha))]


def union_weights(is_expert: torch.Tensor, expert_share: float) -> torch.Tensor:
    r"""Per-row weights ``(B,)``, summing to 1, that make a batch a sample of :math:`d^U`.

    Expert rows share :math:`p_E` = ``expert_share``, the other (logged) rows share
    :math:`1 - p_E`, evenly within each group. A batch without logged rows is all expert
    (``fit`` on demonstrations alone): the union is then the expert data, every row ``1 / B``.
    """
    if not 0.0 < expert_share <= 1.0:
        raise ValueError(f"expert_share must be in (0, 1], got {expert_share}")
    mask = is_expert.reshape(-1).bool()
    n_expert, n_logged = int(mask.sum()), int((~mask).sum())
    if n_expert == 0:
        raise ValueError("a DemoDICE batch needs at least one expert row")
    if n_logged == 0:
        return torch.full(mask.shape, 1.0 / n_expert, device=mask.device)
    expert = torch.full(mask.shape, expert_share / n_expert, device=mask.device)
    logged = torch.full(mask.shape, (1.0 - expert_share) / n_logged, device=mask.device)
    return torch.where(mask, expert, logged)


def weighted_mean(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_i u_i x_i / \sum_i u_i` over the rows of ``x`` (``(B,)`` or ``(B, 1)``)."""
    x, weights = x.reshape(-1), weights.reshape(-1).to(x.dtype)
    return (weights * x).sum() / weights.sum()


def weighted_log_mean_exp(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    r""":math:`\log(\sum_i u_i e^{x_i} / \sum_i u_i)`, computed stably with ``logsumexp``."""
    x, weights = x.reshape(-1), weights.reshape(-1).to(x.dtype)
    return torch.logsumexp(x + torch.log(weights), dim=0) - torch.log(weights.sum())


def reward_from_logits(logits: torch.Tensor) -> torch.Tensor:
    r""":math:`R = \log c - \log(1 - c)` for :math:`c = \sigma(\text{logit})`: the logit itself,
    detached (the reward is a constant for :math:`\nu` and the policy)."""
    return logits.detach()


def discriminator_loss(
    expert_logits: torch.Tensor,
    union_logits: torch.Tensor,
    weights: torch.Tensor,
    gradient_penalty: torch.Tensor | None = None,
    gp_weight: float = 0.0,
) -> DiscriminatorLoss:
    r""":math:`-\mathbb{E}_{d^E}[\log c] - \mathbb{E}_{d^U}[\log(1 - c)] + \lambda\,GP`.

    Args:
        expert_logits: logits of the expert rows (a plain mean: they are a sample of
            :math:`d^E`).
        union_logits: logits of every row of the batch, weighted by ``weights``
            (:func:`union_weights`) for :math:`\mathbb{E}_{d^U}`.
        weights: union weights of the rows of ``union_logits``.
        gradient_penalty: the penalty on interpolates, before its weight (0 if ``None``).
        gp_weight: its weight :math:`\lambda`.
    """
    # -log sigmoid(l) = softplus(-l), -log(1 - sigmoid(l)) = softplus(l)
    cross_entropy = F.softplus(-expert_logits).mean() + weighted_mean(
        F.softplus(union_logits), weights
    )
    penalty = torch.zeros_like(cross_entropy) if gradient_penalty is None else gradient_penalty
    return DiscriminatorLoss(
        total=cross_entropy + gp_weight * penalty,
        cross_entropy=cross_entropy,
        gradient_penalty=penalty,
    )


def advantage(
    reward: torch.Tensor,
    nu: torch.Tensor,
    next_nu: torch.Tensor,
    terminals: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    r""":math:`A_\nu = R + \gamma (1 - \text{terminal})\,\nu(s') - \nu(s)`, row by row."""
    return reward + gamma * (1.0 - terminals) * next_nu - nu


def nu_loss(
    initial_nu: torch.Tensor,
    adv: torch.Tensor,
    weights: torch.Tensor,
    *,
    alpha: float,
    gamma: float,
) -> NuLoss:
    r""":math:`L(\nu) = (1 - \gamma)\,\overline{\nu(s_0)}
    + (1 + \alpha) \log \mathbb{E}_{d^U}[e^{A / (1 + \alpha)}]`.

    Args:
        initial_nu: :math:`\nu` of a batch of initial states (a plain mean).
        adv: :math:`A_\nu` of the batch's rows (:func:`advantage`), differentiable in
            :math:`\nu`.
        weights: union weights of those rows (:func:`union_weights`).
        alpha: :math:`\alpha > 0`.
        gamma: discount factor.
    """
    if alpha <= 0.0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    initial = (1.0 - gamma) * initial_nu.mean()
    nonlinear = (1.0 + alpha) * weighted_log_mean_exp(adv / (1.0 + alpha), weights)
    return NuLoss(total=initial + nonlinear, initial=initial, nonlinear=nonlinear)


def policy_weights(
    adv: torch.Tensor, weights: torch.Tensor, *, alpha: float, max_weight: float
) -> torch.Tensor:
    r""":math:`w_i = e^{A_i / (1 + \alpha)} / \sum_j u_j e^{A_j / (1 + \alpha)}`, clipped at
    ``max_weight``, detached; shape of ``adv``.

    Normalised before the clip, so the union mean of :math:`w` is 1 unless a row is clipped.
    Computed as ``exp(x - logsumexp(x + log u) + log(sum u))``, which never overflows.
    """
    if alpha <= 0.0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if max_weight <= 0.0:
        raise ValueError(f"max_weight must be > 0, got {max_weight}")
    x = adv.detach() / (1.0 + alpha)
    log_normaliser = weighted_log_mean_exp(x, weights)
    return torch.exp(x - log_normaliser).clamp(max=max_weight)


def weighted_bc_loss(
    log_probs: torch.Tensor, policy_weight: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    r""":math:`-\mathbb{E}_{d^U}[w \log \pi(a \mid s)]`, with union weights ``weights``."""
    return -weighted_mean(policy_weight.reshape(-1) * log_probs.reshape(-1), weights)
