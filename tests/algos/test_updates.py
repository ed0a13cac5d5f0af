"""The step's bookkeeping helpers give d3rlpy's numbers."""

from __future__ import annotations

import copy

import torch
from d3rlpy.optimizers import AdamFactory
from d3rlpy.torch_utility import soft_sync
from torch import nn

from offline_iq.algos.torch.continuous_iq_parts import frozen_parameters
from offline_iq.algos.torch.updates import clear_grads, polyak_update


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2))


def test_polyak_update_is_soft_sync_bit_for_bit() -> None:
    online, target = _net(0), _net(1)
    reference = copy.deepcopy(target)
    for tau in (0.005, 0.3, 1.0):
        soft_sync(reference, online, tau)
        polyak_update(list(target.parameters()), list(online.parameters()), tau)
        for a, b in zip(target.parameters(), reference.parameters(), strict=True):
            assert torch.equal(a, b)
        assert all(p.grad is None for p in target.parameters())


def test_clear_grads_then_adam_matches_zeroed_grads() -> None:
    nets = [_net(0), _net(0)]
    optims = [AdamFactory().create(n.named_modules(), lr=1e-2, compiled=False) for n in nets]
    x = torch.randn(32, 3, generator=torch.Generator().manual_seed(2))
    for step in range(5):
        for net, optim, drop in zip(nets, optims, (True, False), strict=True):
            if drop:
                clear_grads(optim)
                assert all(p.grad is None for p in net.parameters())
            else:
                optim.zero_grad()  # d3rlpy's: zeroed in place
            net(x * (step + 1)).pow(2).mean().backward()
            optim.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert torch.equal(a, b)


def test_frozen_parameters_takes_a_module_or_a_list() -> None:
    net = _net(0)
    for frozen in (net, list(net.parameters())):
        with frozen_parameters(frozen):
            assert not any(p.requires_grad for p in net.parameters())
        assert all(p.requires_grad for p in net.parameters())
