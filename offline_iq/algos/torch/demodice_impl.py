"""Torch impls of DemoDICE for discrete and continuous actions.

One update takes three steps on one batch (see :mod:`offline_iq.algos.demodice_loss`):

1. the discriminator :math:`c(s, a)` (an MLP on the state and the action, one-hot for discrete
   actions) descends its cross-entropy plus its gradient penalty;
2. :math:`\\nu(s)` descends :math:`L(\\nu)` (plus a small gradient penalty), with the reward
   :math:`R` the discriminator's logits of step 1, detached;
3. the policy descends the weighted behaviour cloning loss, the weights from step 2's
   :math:`A_\\nu`, detached.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod

import torch
from d3rlpy.algos.qlearning.base import QLearningAlgoImplBase
from d3rlpy.dataclass_utils import asdict_as_float
from d3rlpy.models.encoders import EncoderFactory
from d3rlpy.models.torch import (
    CategoricalPolicy,
    EncoderWithAction,
    NormalPolicy,
    SquashedGaussianDistribution,
    ValueFunction,
    build_squashed_gaussian_distribution,
    compute_output_size,
)
from d3rlpy.optimizers import OptimizerWrapper
from d3rlpy.torch_utility import Modules, TorchMiniBatch
from d3rlpy.types import Shape, TorchObservation
from torch import nn

from offline_iq.algos.demodice_loss import (
    advantage,
    discriminator_loss,
    nu_loss,
    policy_weights,
    reward_from_logits,
    union_weights,
    weighted_bc_loss,
    weighted_mean,
)
from offline_iq.algos.expert_mixing import ExpertTorchMiniBatch
from offline_iq.algos.penalties import interpolation_gradient_penalty

__all__ = [
    "ContinuousDemoDICEImpl",
    "ContinuousDemoDICEModules",
    "DemoDICELogs",
    "DemoDICEImplBase",
    "DemoDICEModules",
    "DemoDICEParams",
    "Discriminator",
    "DiscreteDemoDICEImpl",
    "DiscreteDemoDICEModules",
    "create_discriminator",
]

# dataset actions (min-max scaled to [-1, 1]) are clipped this far inside the bounds before the
# squashed Gaussian's atanh: log-likelihoods of saturated expert actions stay finite
ACTION_EPS = 1e-4


class Discriminator(nn.Module):
    """Logit of :math:`c(s, a)`: a state-action encoder and a linear head."""

    def __init__(self, encoder: EncoderWithAction, hidden_size: int) -> None:
        super().__init__()
        self._encoder = encoder
        self._fc = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, 1)`` of states ``x`` and action vectors ``action``."""
        logits: torch.Tensor = self._fc(self._encoder(x, action))
        return logits


def create_discriminator(
    observation_shape: Shape, action_dim: int, encoder_factory: EncoderFactory, device: str
) -> Discriminator:
    """A :class:`Discriminator` on ``action_dim``-wide action vectors (one-hot if discrete)."""
    encoder = encoder_factory.create_with_action(observation_shape, action_dim)
    hidden_size = compute_output_size([observation_shape, (action_dim,)], encoder)
    discriminator = Discriminator(encoder, hidden_size)
    discriminator.to(device)
    return discriminator


@dataclasses.dataclass(frozen=True)
class DemoDICEModules(Modules):
    """The policy, :math:`\\nu`, the discriminator and their optimizers."""

    policy: nn.Module
    nu: ValueFunction
    discriminator: Discriminator
    actor_optim: OptimizerWrapper
    nu_optim: OptimizerWrapper
    disc_optim: OptimizerWrapper


@dataclasses.dataclass(frozen=True)
class DiscreteDemoDICEModules(DemoDICEModules):
    """Modules with a categorical policy."""

    policy: CategoricalPolicy


@dataclasses.dataclass(frozen=True)
class ContinuousDemoDICEModules(DemoDICEModules):
    """Modules with a squashed-Gaussian policy."""

    policy: NormalPolicy


@dataclasses.dataclass(frozen=True)
class DemoDICEParams:
    """The loss hyperparameters of :class:`~offline_iq.algos.demodice.DemoDICEConfig`."""

    gamma: float
    alpha: float
    disc_gp_weight: float
    nu_gp_weight: float
    max_weight: float


@dataclasses.dataclass(frozen=True)
class DemoDICELogs:
    """What one update logs (rewards and weights are batch means over the rows named)."""

    disc_loss: torch.Tensor  # cross-entropy + gp
    disc_gp: torch.Tensor
    nu_loss: torch.Tensor  # L(nu) + its gp
    nu_gp: torch.Tensor
    actor_loss: torch.Tensor
    reward_expert: torch.Tensor
    reward_logged: torch.Tensor  # 0 without logged rows
    mean_weight: torch.Tensor  # union mean of the clipped weights: 1 unless some are clipped
    weight_expert: torch.Tensor
    weight_logged: torch.Tensor  # 0 without logged rows


class DemoDICEImplBase(QLearningAlgoImplBase):
    """The update shared by both action spaces; subclasses map actions and log-likelihoods."""

    _modules: DemoDICEModules
    _params: DemoDICEParams
    # p_E = |D_E| / (|D_E| + |D_O|); the algorithm sets it before every update
    expert_share: float = 1.0

    def __init__(
        self,
        *,
        observation_shape: Shape,
        action_size: int,
        modules: DemoDICEModules,
        params: DemoDICEParams,
        device: str,
    ) -> None:
        super().__init__(
            observation_shape=observation_shape,
            action_size=action_size,
            modules=modules,
            device=device,
        )
        self._params = params

    # --- what differs between action spaces -------------------------------------------------
    @abstractmethod
    def action_vectors(self, actions: torch.Tensor) -> torch.Tensor:
        """Dataset actions as the discriminator's input vectors (one-hot if discrete)."""

    @abstractmethod
    def log_probs(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """:math:`\\log \\pi(a \\mid s)` of the dataset's actions, ``(B,)``."""

    # --- shared update ----------------------------------------------------------------------
    def _disc_logits(self, obs: torch.Tensor, action_vectors: torch.Tensor) -> torch.Tensor:
        return self._modules.discriminator(obs, action_vectors)

    def inner_update(self, batch: TorchMiniBatch, grad_step: int) -> dict[str, float]:
        assert isinstance(batch, ExpertTorchMiniBatch)
        obs, next_obs = batch.observations, batch.next_observations
        initial = batch.initial_observations
        assert isinstance(obs, torch.Tensor) and isinstance(next_obs, torch.Tensor)
        assert initial is not None, "DemoDICE needs a batch of initial states"
        mods, params = self._modules, self._params
        is_expert = batch.expert_mask()
        union = union_weights(is_expert, self.expert_share).to(obs.dtype)
        # union rows drawn in the union's proportions: the other side of both penalties
        drawn = torch.multinomial(union, obs.shape[0], replacement=True)

        # 1. discriminator
        vectors = self.action_vectors(batch.actions)
        logits = self._disc_logits(obs, vectors)
        joint = torch.cat([obs, vectors], dim=1)
        n_expert = int(is_expert.sum())
        dim = obs.shape[1]
        disc_gp = interpolation_gradient_penalty(
            lambda x: self._disc_logits(x[:, :dim], x[:, dim:]),
            joint[is_expert],
            joint[drawn[:n_expert]],
        )
        disc = discriminator_loss(
            logits[is_expert], logits, union, disc_gp, gp_weight=params.disc_gp_weight
        )
        mods.disc_optim.zero_grad()
        disc.total.backward()
        mods.disc_optim.step()
        reward = reward_from_logits(logits)  # the logits before this step, detached

        # 2. nu
        values = mods.nu(torch.cat([obs, next_obs, initial]))
        n = obs.shape[0]
        adv = advantage(reward, values[:n], values[n : 2 * n], batch.terminals, params.gamma)
        nu = nu_loss(values[2 * n :], adv, union, alpha=params.alpha, gamma=params.gamma)
        nu_gp = torch.zeros_like(nu.total)
        if params.nu_gp_weight > 0:
            # union states against the states nu enters L with the other sign: their next
            # states and initial states (without it nu(s') of a next state that is never a
            # row's s can fall without bound)
            states = obs[drawn]
            nu_gp = interpolation_gradient_penalty(
                mods.nu, torch.cat([states, states]), torch.cat([next_obs[drawn], initial])
            )
        nu_total = nu.total + params.nu_gp_weight * nu_gp
        mods.nu_optim.zero_grad()
        nu_total.backward()
        mods.nu_optim.step()

        # 3. policy
        weight = policy_weights(adv, union, alpha=params.alpha, max_weight=params.max_weight)
        actor_loss = weighted_bc_loss(self.log_probs(obs, batch.actions), weight, union)
        mods.actor_optim.zero_grad()
        actor_loss.backward()
        mods.actor_optim.step()

        weight, reward = weight.reshape(-1), reward.reshape(-1)
        logged = ~is_expert
        zero = torch.zeros((), device=obs.device)
        return asdict_as_float(
            DemoDICELogs(
                disc_loss=disc.total,
                disc_gp=disc.gradient_penalty,
                nu_loss=nu_total,
                nu_gp=nu_gp,
                actor_loss=actor_loss,
                reward_expert=reward[is_expert].mean(),
                reward_logged=reward[logged].mean() if bool(logged.any()) else zero,
                mean_weight=weighted_mean(weight, union),
                weight_expert=weight[is_expert].mean(),
                weight_logged=weight[logged].mean() if bool(logged.any()) else zero,
            )
        )

    def inner_predict_value(self, x: TorchObservation, action: torch.Tensor) -> torch.Tensor:
        """The learned reward :math:`R(s, a) = \\log c - \\log(1 - c)` (no Q-function here)."""
        assert isinstance(x, torch.Tensor)
        return self._disc_logits(x, self.action_vectors(action)).reshape(-1)

    @property
    def policy(self) -> nn.Module:
        """The policy network."""
        return self._modules.policy

    @property
    def policy_optim(self) -> torch.optim.Optimizer:
        """The policy's optimizer."""
        return self._modules.actor_optim.optim


class DiscreteDemoDICEImpl(DemoDICEImplBase):
    """Categorical policy; the discriminator reads one-hot actions."""

    _modules: DiscreteDemoDICEModules

    def action_vectors(self, actions: torch.Tensor) -> torch.Tensor:
        """One-hot rows of the action indices."""
        index = actions.long().reshape(-1)
        return nn.functional.one_hot(index, self._action_size).float()

    def log_probs(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Categorical log-likelihoods of the action indices."""
        dist = self._modules.policy(obs)
        log_prob: torch.Tensor = dist.log_prob(actions.long().reshape(-1))
        return log_prob

    def inner_predict_best_action(self, x: TorchObservation) -> torch.Tensor:
        return self._modules.policy(x).probs.argmax(dim=1)

    def inner_sample_action(self, x: TorchObservation) -> torch.Tensor:
        return self._modules.policy(x).sample()


class ContinuousDemoDICEImpl(DemoDICEImplBase):
    """Squashed-Gaussian policy; the discriminator reads the scaled actions."""

    _modules: ContinuousDemoDICEModules

    def _dist(self, obs: TorchObservation) -> SquashedGaussianDistribution:
        return build_squashed_gaussian_distribution(self._modules.policy(obs))

    def action_vectors(self, actions: torch.Tensor) -> torch.Tensor:
        """The actions as they are (min-max scaled)."""
        return actions

    def log_probs(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Squashed-Gaussian log-likelihoods, actions clipped ``ACTION_EPS`` inside [-1, 1]."""
        clipped = actions.clamp(-1.0 + ACTION_EPS, 1.0 - ACTION_EPS)
        return self._dist(obs).log_prob(clipped).reshape(-1)

    def inner_predict_best_action(self, x: TorchObservation) -> torch.Tensor:
        return torch.tanh(self._modules.policy(x).mu)

    def inner_sample_action(self, x: TorchObservation) -> torch.Tensor:
        return self._dist(x).sample()
