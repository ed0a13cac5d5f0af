"""Samples of a squashed-Gaussian policy and the soft value they estimate."""

from __future__ import annotations

import dataclasses

import torch
from d3rlpy.models.torch import (
    ContinuousEnsembleQFunctionForwarder,
    NormalPolicy,
    build_squashed_gaussian_distribution,
)

__all__ = ["PolicySamples", "ensemble_soft_value", "sample_policy", "soft_value_of_samples"]


@dataclasses.dataclass(frozen=True)
class PolicySamples:
    """``K`` actions per state from the squashed-Gaussian policy.

    ``actions``: ``(B * K, A)``, state-major (row ``b * K + k`` is sample ``k`` of state ``b``);
    ``log_probs``: ``(B, K, 1)``; ``mean_actions``: ``tanh`` of the Gaussian's mean, ``(B, A)``
    (the deterministic action ``predict`` returns).
    """

    actions: torch.Tensor
    log_probs: torch.Tensor
    mean_actions: torch.Tensor

    @property
    def n(self) -> int:
        """Samples per state, ``K``."""
        return int(self.log_probs.shape[1])

    def detach(self) -> PolicySamples:
        """The same samples without their graph."""
        return PolicySamples(
            self.actions.detach(), self.log_probs.detach(), self.mean_actions.detach()
        )


def sample_policy(policy: NormalPolicy, x: torch.Tensor, n: int) -> PolicySamples:
    """``n`` reparameterised samples per state of ``x`` from one policy forward pass."""
    action = policy(x)
    dist = build_squashed_gaussian_distribution(action)
    actions, log_probs = dist.sample_n_with_log_prob(n)  # (B, n, A), (B, n, 1)
    return PolicySamples(actions.reshape(-1, actions.shape[-1]), log_probs, torch.tanh(action.mu))


def soft_value_of_samples(
    q: torch.Tensor, samples: PolicySamples, temperature: torch.Tensor
) -> torch.Tensor:
    r""":math:`V(s) = \frac{1}{K}\sum_k [Q(s, a_k) - \alpha \log \pi(a_k|s)]` per critic,
    ``(N, B, 1)``, from ``q = Q(s, a_k)`` of shape ``(N, B * K, 1)``."""
    n_critics, k = q.shape[0], samples.n
    q_mean = q.view(n_critics, -1, k).mean(dim=2, keepdim=True)
    return q_mean - temperature * samples.log_probs.mean(dim=1)


def ensemble_soft_value(
    forwarder: ContinuousEnsembleQFunctionForwarder,
    x: torch.Tensor,
    samples: PolicySamples,
    temperature: torch.Tensor,
) -> torch.Tensor:
    """``V(s)`` per critic of ``forwarder``'s ensemble at states ``x``, ``(N, B, 1)``."""
    q = forwarder.compute_expected_q(x.repeat_interleave(samples.n, dim=0), samples.actions, "none")
    return soft_value_of_samples(q, samples, temperature)
