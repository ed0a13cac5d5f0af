r"""The IQ-Learn critic objective as one pure function (Garg et al., 2021, eq. 9-12, sec. 5.1).

With :math:`y = (1 - d)\,\gamma V(s')` (terminations stop the bootstrap, truncations never do)
and the recovered reward :math:`r = Q(s, a) - y` (eq. 11), the loss minimised is

.. math::

    \mathcal{L}(Q) = -\mathbb{E}_{\rho_E}[\phi(r)] + \text{value term}
                     + \frac{1}{4\alpha}\mathbb{E}_{\text{mix}}[r^2] + \lambda\,\text{GP},

where the value term estimates :math:`(1 - \gamma)\mathbb{E}_{p_0}[V(s_0)]` in one of three ways:

* ``value_expert`` (offline default, sec. 5.1): :math:`\mathbb{E}_{\rho_E}[V(s) - y]`;
* ``value`` (online, sec. 5.1): :math:`\mathbb{E}[V(s) - y]` over expert and policy rows;
* ``v0`` (eq. 9 as written): :math:`(1 - \gamma)\mathbb{E}_{s_0}[V(s_0)]` over true initial states.

The :math:`\chi^2` regulariser is applied either inside :math:`\phi` on expert rows
(``chi2_on_mixture=False``: :math:`\phi(x) = x - x^2/(4\alpha)`) or, as the paper's online
MuJoCo runs do, on every row of the batch (``chi2_on_mixture=True``: :math:`\phi(x) = x` on
expert rows plus the squared-reward penalty on expert and policy rows).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal, get_args

import torch

from offline_iq.algos.divergences import Divergence, phi

__all__ = [
    "VALUE_OBJECTIVES",
    "IQLoss",
    "ValueObjective",
    "interpolation_gradient_penalty",
    "iq_loss",
    "soft_value",
]

ValueObjective = Literal["value_expert", "value", "v0"]
VALUE_OBJECTIVES: tuple[str, ...] = get_args(ValueObjective)


@dataclasses.dataclass(frozen=True)
class IQLoss:
    """Terms of the critic loss; ``loss`` is what gets differentiated, the rest is for logs."""

    loss: torch.Tensor
    softq_loss: torch.Tensor  # -E_expert[phi(r)]
    value_loss: torch.Tensor
    chi2_loss: torch.Tensor  # mixture regulariser (0 when inside phi)
    gp_loss: torch.Tensor  # the Lipschitz gradient penalty before its weight (0 when unused)
    expert_reward: torch.Tensor  # mean recovered reward on expert rows (detached)
    policy_reward: torch.Tensor  # mean recovered reward on policy rows (detached, 0 if none)


def soft_value(q_values: torch.Tensor, temperature: float) -> torch.Tensor:
    r""":math:`V(s) = \alpha \log \sum_a \exp(Q(s, a) / \alpha)`, shape ``(B, 1)``."""
    return temperature * torch.logsumexp(q_values / temperature, dim=1, keepdim=True)


def iq_loss(
    *,
    q: torch.Tensor,
    v: torch.Tensor,
    next_v: torch.Tensor,
    terminals: torch.Tensor,
    is_expert: torch.Tensor,
    gamma: float,
    divergence: Divergence = "chi2",
    value_objective: ValueObjective = "value_expert",
    initial_v: torch.Tensor | None = None,
    chi2_alpha: float = 0.5,
    chi2_on_mixture: bool = False,
    tv_bound: float = 1.0,
    gradient_penalty: torch.Tensor | None = None,
    gp_weight: float = 10.0,
    q_weights: torch.Tensor | None = None,
) -> IQLoss:
    r"""Compute the IQ-Learn critic loss for one batch.

    Args:
        q: ``Q(s, a)`` of the taken actions, ``(B, 1)``; or ``(B, K)`` values of K actions per
            state, averaged with ``q_weights`` after ``phi`` (state-only imitation, sec. 5.4:
            :math:`\mathbb{E}_{a \sim \pi}[\phi(Q(s, a) - y)]`).
        v: ``V(s)``, ``(B, 1)``.
        next_v: ``V(s')``, ``(B, 1)`` (any value where ``terminals`` is 1: it is masked).
        terminals: 1 where the environment terminated at this step, ``(B, 1)``.
        is_expert: boolean mask of expert rows, ``(B,)`` or ``(B, 1)``; at least one is True.
        gamma: discount factor.
        divergence: which :math:`\\phi` (see :mod:`offline_iq.algos.divergences`).
        value_objective: ``value_expert``, ``value`` or ``v0`` (see the module docstring).
        initial_v: ``V(s_0)`` of true initial states, required for ``v0``.
        chi2_alpha: :math:`\\alpha` of the :math:`\\chi^2` regulariser.
        chi2_on_mixture: put the :math:`\\chi^2` penalty on all rows instead of inside ``phi``.
        tv_bound: reward bound :math:`R` of ``tv``.
        gradient_penalty: the ``w1`` Lipschitz penalty, already computed (scalar).
        gp_weight: weight of ``gradient_penalty``.
        q_weights: ``(B, K)`` probabilities of the K actions in ``q`` (default: uniform).
    """
    mask = is_expert.reshape(-1).bool()
    if not bool(mask.any()):
        raise ValueError("iq_loss needs at least one expert row")
    n = mask.shape[0]
    for name, tensor in (("v", v), ("next_v", next_v), ("terminals", terminals)):
        if tensor.shape != (n, 1):
            raise ValueError(f"{name} must have shape ({n}, 1), got {tuple(tensor.shape)}")
    if q.dim() != 2 or q.shape[0] != n:
        raise ValueError(f"q must have shape ({n}, K), got {tuple(q.shape)}")
    weights = torch.full_like(q, 1.0 / q.shape[1]) if q_weights is None else q_weights
    if weights.shape != q.shape:
        raise ValueError(f"q_weights shape {tuple(weights.shape)} differs from q {tuple(q.shape)}")
    y = (1.0 - terminals) * gamma * next_v
    reward = q - y  # (B, K), broadcast over the K actions
    expert_reward, expert_weights = reward[mask], weights[mask]
    if chi2_on_mixture:
        if divergence != "chi2":
            raise ValueError("chi2_on_mixture requires divergence='chi2'")
        softq_loss = -(expert_weights * expert_reward).sum(1).mean()
        chi2_loss = (weights * reward.pow(2)).sum(1).mean() / (4.0 * chi2_alpha)
    else:
        phi_r = phi(divergence, expert_reward, chi2_alpha=chi2_alpha, tv_bound=tv_bound)
        softq_loss = -(expert_weights * phi_r).sum(1).mean()
        chi2_loss = torch.zeros((), device=q.device)
    if value_objective == "value_expert":
        value_loss = (v - y)[mask].mean()
    elif value_objective == "value":
        value_loss = (v - y).mean()
    elif value_objective == "v0":
        if initial_v is None:
            raise ValueError("value_objective='v0' needs initial_v")
        value_loss = (1.0 - gamma) * initial_v.mean()
    else:
        raise ValueError(
            f"unknown value_objective {value_objective!r}; choose from {VALUE_OBJECTIVES}"
        )
    loss = softq_loss + value_loss + chi2_loss
    if gradient_penalty is not None:
        loss = loss + gp_weight * gradient_penalty
    mean_reward = (weights * reward).sum(1).detach()
    policy_rows = mean_reward[~mask]
    return IQLoss(
        loss=loss,
        softq_loss=softq_loss,
        value_loss=value_loss,
        chi2_loss=chi2_loss,
        gp_loss=(
            gradient_penalty.detach()
            if gradient_penalty is not None
            else torch.zeros((), device=q.device)
        ),
        expert_reward=mean_reward[mask].mean(),
        policy_reward=(
            policy_rows.mean() if policy_rows.numel() else torch.zeros((), device=q.device)
        ),
    )


def interpolation_gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    expert_inputs: torch.Tensor,
    policy_inputs: torch.Tensor,
    lipschitz: float = 1.0,
) -> torch.Tensor:
    r"""WGAN-GP penalty :math:`\mathbb{E}[(\lVert\nabla_{\hat x} f(\hat x)\rVert - K)^2]`.

    :math:`\hat x = \epsilon x_E + (1 - \epsilon) x_\pi` with :math:`\epsilon \sim U(0, 1)` per
    row; ``critic`` maps a ``(B, d)`` input to ``(B, 1)`` (the ``w1`` Lipschitz constraint).
    """
    eps = torch.rand(expert_inputs.shape[0], 1, device=expert_inputs.device)
    mixed = (eps * expert_inputs + (1.0 - eps) * policy_inputs).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return (grad.norm(dim=1) - lipschitz).pow(2).mean()
