"""The bookkeeping of a gradient step, with fewer calls than d3rlpy's helpers and the same
numbers: loss records as floats, clearing gradients, the Polyak update of a target network."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import torch
from d3rlpy.optimizers import OptimizerWrapper

__all__ = ["as_floats", "clear_grads", "polyak_update"]


def as_floats(*records: Any) -> dict[str, float]:
    """The fields of loss records (dataclasses of scalar tensors) as floats, as d3rlpy's
    ``asdict_as_float`` gives them, in one conversion (one device sync) instead of one per field."""
    names = [f.name for record in records for f in dataclasses.fields(record)]
    values = [getattr(record, f.name) for record in records for f in dataclasses.fields(record)]
    tensors = [v for v in values if isinstance(v, torch.Tensor) and v.ndim == 0]
    if len(tensors) < len(values) or len({v.device for v in tensors}) > 1:
        return {n: float(v) for n, v in zip(names, values, strict=True)}
    floats = torch.stack([v.detach() for v in tensors]).tolist()  # promotes, never rounds
    return dict(zip(names, floats, strict=True))


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
