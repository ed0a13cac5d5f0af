"""The Lipschitz (gradient) penalty on interpolates of expert and policy inputs: the ``w1``
divergence's constraint in IQ-Learn (and an option with any divergence), and ValueDICE's; and the
off-diagonal orthogonal penalty on a network's weights (ValueDICE's policy)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["expert_policy_pairs", "interpolation_gradient_penalty", "orthogonal_regularization"]


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


def orthogonal_regularization(module: nn.Module) -> torch.Tensor:
    r"""Brock et al.'s off-diagonal orthogonal penalty, summed over the weight matrices of
    ``module``'s linear and convolutional layers (biases and norm scales are left out).

    For a layer whose units have weight vectors :math:`w_1, \dots, w_m` (the rows of a torch
    ``weight`` of shape ``(out, in)``, convolution kernels flattened to ``(out, -1)``), the Gram
    matrix :math:`G_{ij} = w_i^\top w_j` is :math:`W W^\top` in torch's layout, which is the
    paper's :math:`W^\top W` for its ``(in, out)`` matrix whose columns are the units. Then

    .. math::

        R(W) = \lVert G \odot (\mathbf{1} - I) \rVert_F^2 = \sum_{i \ne j} (w_i^\top w_j)^2:

    the squared inner products between distinct units, pushing them towards orthogonality
    without constraining their norms. The coefficient is the caller's.

    References:
        * `Brock, Donahue, Simonyan, Large Scale GAN Training for High Fidelity Natural Image
          Synthesis. ICLR 2019. <https://arxiv.org/abs/1809.11096>`_ (section 3.1)
    """
    terms = []
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
            weight = layer.weight.reshape(layer.weight.shape[0], -1)
            gram = weight @ weight.T
            off_diagonal = gram * (1.0 - torch.eye(gram.shape[0], device=gram.device))
            terms.append(off_diagonal.pow(2).sum())
    return torch.stack(terms).sum() if terms else torch.zeros(())
