"""Samples of a squashed-Gaussian policy and the soft value they estimate."""

from __future__ import annotations

import dataclasses
import math

import torch
from d3rlpy.models.torch import (
    ContinuousEnsembleQFunctionForwarder,
    NormalPolicy,
    build_squashed_gaussian_distribution,
)

__all__ = [
    "PolicySamples",
    "ensemble_soft_value",
    "policy_samples_from_noise",
    "sample_policy",
    "soft_value_of_samples",
]


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
        return self.log_probs.shape[1]

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


def policy_samples_from_noise(
    policy: NormalPolicy, x: torch.Tensor, noise: torch.Tensor
) -> PolicySamples:
    r"""The samples :math:`a_k = \tanh(\mu(s) + \sigma(s)\,\epsilon_k)` of fixed standard-normal
    draws ``noise`` ``(K, A)``, the same ``K`` draws at every state (deterministic and smooth
    in the state), with the squashed Gaussian's log-density

    .. math::

        \log \pi(a_k|s) = \sum_j \big[-\tfrac12 \epsilon_{kj}^2 - \log \sigma_j(s)
            - \tfrac12 \log 2\pi - 2(\log 2 - u_{kj} - \operatorname{softplus}(-2 u_{kj}))\big],
        \qquad u_k = \mu(s) + \sigma(s)\,\epsilon_k,

    the last term being :math:`\log(1 - \tanh^2 u)` in the stable form d3rlpy's sampler uses.
    Pure tensor code (traceable)."""
    out = policy(x)
    mu, logstd = out.mu, out.logstd  # (B, A)
    assert logstd is not None
    eps = noise.unsqueeze(0)  # (1, K, A), broadcast over the batch
    raw = mu.unsqueeze(1) + logstd.exp().unsqueeze(1) * eps  # (B, K, A)
    gaussian = -0.5 * eps.pow(2) - logstd.unsqueeze(1) - 0.5 * math.log(2.0 * math.pi)
    jacobian = 2.0 * (math.log(2.0) - raw - torch.nn.functional.softplus(-2.0 * raw))
    log_probs = (gaussian - jacobian).sum(dim=-1, keepdim=True)  # (B, K, 1)
    actions = torch.tanh(raw).reshape(-1, raw.shape[-1])  # state-major (B * K, A)
    return PolicySamples(actions, log_probs, torch.tanh(mu))


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
