r"""ValueDICE's objective (Kostrikov, Nachum, Tompson, ICLR 2020, eq. 11-13) as a pure function.

With :math:`x(s, a) = \nu(s, a) - (1 - d)\gamma\,\mathbb{E}_{a' \sim \pi(s')}[\nu(s', a')]`, the
Donsker-Varadhan form of :math:`-\mathrm{KL}(d^\pi \,\|\, d^E)` is

.. math::

    J(\pi, \nu) = \log \mathbb{E}_{(s, a) \sim d^E}\big[e^{x(s, a)}\big]
        - (1 - \gamma)\,\mathbb{E}_{s_0 \sim p_0, a_0 \sim \pi}[\nu(s_0, a_0)],

which :math:`\nu` minimises and :math:`\pi` maximises. With replay regularisation
:math:`\alpha` (online), expectations under :math:`d^E` become expectations under the mixture
:math:`(1 - \alpha) d^E + \alpha d^R`, and the linear term becomes
:math:`(1 - \alpha)(1 - \gamma)\mathbb{E}_{p_0}[\nu] + \alpha\,\mathbb{E}_{d^R}[x]` (eq. 13).
Offline (no replay rows) :math:`\alpha` has no effect.
"""

from __future__ import annotations

import dataclasses
import math

import torch

__all__ = ["ValueDICELoss", "ValueDICEUpdateLoss", "valuedice_objective"]


@dataclasses.dataclass(frozen=True)
class ValueDICELoss:
    r""":math:`J = \text{nonlinear} - \text{linear}` for one batch, with its two terms."""

    objective: torch.Tensor  # J: nu minimises it, pi maximises it
    nonlinear: torch.Tensor  # log E_mix[exp(x)]
    linear: torch.Tensor  # (1 - alpha)(1 - gamma) E[nu(s0, a0)] + alpha E_replay[x]


@dataclasses.dataclass(frozen=True)
class ValueDICEUpdateLoss(ValueDICELoss):
    """What one update logs: :math:`J` and its terms, the gradient penalty, the entropy and
    the policy's orthogonal penalty (both penalties before their coefficients)."""

    gp_loss: torch.Tensor  # E[(||grad nu(x_hat)|| - 1)^2]
    entropy: torch.Tensor  # mean policy entropy at the states pi acts in
    orthogonal_penalty: torch.Tensor  # R(pi): sum over its weights of ||W W^T * (1 - I)||_F^2


def valuedice_objective(
    *,
    nu: torch.Tensor,
    next_nu: torch.Tensor,
    initial_nu: torch.Tensor,
    terminals: torch.Tensor,
    is_expert: torch.Tensor,
    gamma: float,
    replay_regularization: float = 0.0,
) -> ValueDICELoss:
    """Compute :math:`J` for one batch.

    Args:
        nu: :math:`\\nu(s, a)` of the batch's actions, ``(B, 1)``.
        next_nu: :math:`\\mathbb{E}_{a' \\sim \\pi(s')}[\\nu(s', a')]`, ``(B, 1)``.
        initial_nu: :math:`\\mathbb{E}_{a_0 \\sim \\pi(s_0)}[\\nu(s_0, a_0)]`, ``(B0, 1)``.
        terminals: 1 where the environment terminated, ``(B, 1)``.
        is_expert: expert-row mask ``(B,)``; the other rows are replay (policy) data.
        gamma: discount factor.
        replay_regularization: :math:`\\alpha` in ``[0, 1)``; used only when replay rows exist.
    """
    if not 0.0 <= replay_regularization < 1.0:
        raise ValueError(f"replay_regularization must be in [0, 1), got {replay_regularization}")
    mask = is_expert.reshape(-1).bool()
    n_expert, n_replay = int(mask.sum()), int((~mask).sum())
    if n_expert == 0:
        raise ValueError("valuedice_objective needs at least one expert row")
    for name, tensor in (("nu", nu), ("next_nu", next_nu), ("terminals", terminals)):
        if tensor.shape != (mask.shape[0], 1):
            raise ValueError(
                f"{name} must have shape ({mask.shape[0]}, 1), got {tuple(tensor.shape)}"
            )
    alpha = replay_regularization if n_replay else 0.0
    x = (nu - (1.0 - terminals) * gamma * next_nu).reshape(-1)
    log_w = torch.where(
        mask,
        torch.full_like(x, math.log(1.0 - alpha) - math.log(n_expert)),
        torch.full_like(
            x, math.log(alpha) - math.log(max(n_replay, 1)) if alpha > 0 else -math.inf
        ),
    )
    nonlinear = torch.logsumexp(x + log_w, dim=0)
    linear = (1.0 - alpha) * (1.0 - gamma) * initial_nu.mean()
    if alpha > 0:
        linear = linear + alpha * x[~mask].mean()
    return ValueDICELoss(objective=nonlinear - linear, nonlinear=nonlinear, linear=linear)
