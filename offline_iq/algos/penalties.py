"""The Lipschitz (gradient) penalty on interpolates of expert and policy inputs: the ``w1``
divergence's constraint in IQ-Learn (and an option with any divergence), and ValueDICE's."""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["expert_policy_pairs", "interpolation_gradient_penalty"]


def expert_policy_pairs(
    inputs: torch.Tensor, is_expert: torch.Tensor, own_inputs: Callable[[], torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Expert rows of ``inputs`` and as many policy rows (the two sides of the W1 penalty).

    Offline (no policy rows) the policy side is ``own_inputs()``: the learner's own actions at
    the expert states.
    """
    expert = inputs[is_expert]
    if bool((~is_expert).any()):
        policy = inputs[~is_expert]
        n = min(len(expert), len(policy))
        return expert[:n], policy[:n]
    return expert, own_inputs()


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
