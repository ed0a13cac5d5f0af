"""The bookkeeping of a gradient step, with fewer calls than d3rlpy's helpers and the same
numbers: clearing gradients and the Polyak update of a target network."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from d3rlpy.optimizers import OptimizerWrapper

__all__ = ["clear_grads", "polyak_update"]


def clear_grads(optim: OptimizerWrapper) -> None:
    """Drop the gradients of ``optim``'s parameters (``zero_grad(set_to_none=True)``).

    d3rlpy zeroes them in place unless it compiles the graph; the next backward pass then adds
    into zeros. Dropping them skips that memset and add: every parameter of the learners here
    gets a gradient on every step, so Adam sees exactly the same gradients (``0 + g == g``).
    """
    optim.optim.zero_grad(set_to_none=True)


@torch.no_grad()
def polyak_update(
    target: Sequence[torch.Tensor], online: Sequence[torch.Tensor], tau: float
) -> None:
    """``target <- (1 - tau) target + tau online`` over two aligned lists of weights (a target
    network's and its online network's), as d3rlpy's ``soft_sync`` computes it (the same two
    roundings per weight) in three calls over all weights instead of three per weight."""
    targets = list(target)
    torch._foreach_mul_(targets, 1 - tau)
    torch._foreach_add_(targets, torch._foreach_mul(list(online), tau))
