"""Torch impls of ValueDICE for discrete and continuous actions.

One backward pass serves both players: :math:`\\nu` descends :math:`J + \\lambda\\,GP` and the
policy ascends :math:`J + w\\,H(\\pi) - c\\,R(\\pi)` (entropy bonus, orthogonal penalty), i.e.
descends its loss :math:`-J - w\\,H + c\\,R`. The pass differentiates
:math:`J + \\lambda\\,GP + w\\,H - c\\,R` and negates the policy's gradients before the step:
:math:`H` and :math:`R` depend on the policy only, and the gradient penalty (computed on detached
inputs) on :math:`\\nu` only, so each player gets the gradient of its own loss.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod

import torch
from d3rlpy.algos.qlearning.base import QLearningAlgoImplBase
from d3rlpy.algos.qlearning.torch.utility import (
    ContinuousQFunctionMixin,
    DiscreteQFunctionMixin,
)
from d3rlpy.dataclass_utils import asdict_as_float
from d3rlpy.models.torch import (
    CategoricalPolicy,
    ContinuousEnsembleQFunctionForwarder,
    DiscreteEnsembleQFunctionForwarder,
    NormalPolicy,
    SquashedGaussianDistribution,
    build_squashed_gaussian_distribution,
)
from d3rlpy.optimizers import OptimizerWrapper
from d3rlpy.torch_utility import Modules, TorchMiniBatch
from d3rlpy.types import Shape, TorchObservation
from torch import nn

from offline_iq.algos.expert_mixing import ExpertTorchMiniBatch
from offline_iq.algos.penalties import interpolation_gradient_penalty, orthogonal_regularization
from offline_iq.algos.valuedice_loss import ValueDICELoss, ValueDICEUpdateLoss, valuedice_objective

__all__ = [
    "ContinuousValueDICEImpl",
    "ContinuousValueDICEModules",
    "DiscreteValueDICEImpl",
    "DiscreteValueDICEModules",
    "ValueDICEModules",
    "ValueDICEParams",
]


@dataclasses.dataclass(frozen=True)
class ValueDICEModules(Modules):
    """The policy, :math:`\\nu` and their optimizers; subclasses fix the policy's type."""

    policy: nn.Module
    q_funcs: nn.ModuleList  # nu
    actor_optim: OptimizerWrapper
    nu_optim: OptimizerWrapper


@dataclasses.dataclass(frozen=True)
class DiscreteValueDICEModules(ValueDICEModules):
    policy: CategoricalPolicy


@dataclasses.dataclass(frozen=True)
class ContinuousValueDICEModules(ValueDICEModules):
    policy: NormalPolicy


@dataclasses.dataclass(frozen=True)
class ValueDICEParams:
    gamma: float
    replay_regularization: float
    gp_weight: float
    entropy_weight: float
    orthogonal_regularization: float


class _ValueDICEImplBase(QLearningAlgoImplBase):
    _modules: ValueDICEModules
    _params: ValueDICEParams

    # --- what differs between action spaces -------------------------------------------------
    @abstractmethod
    def evaluate_nu(
        self, obs: torch.Tensor, actions: torch.Tensor, policy_states: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """In one pass: :math:`\\nu(s, a)` at ``obs``, :math:`E_{a \\sim \\pi}[\\nu(s, a)]` at
        ``policy_states`` (differentiable in pi), and the policy's mean entropy there."""

    @abstractmethod
    def penalty_inputs(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(state, action)`` rows of the expert and of the policy at the same states."""

    @abstractmethod
    def nu_of_joint(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\nu` of ``(state, action)`` rows as built by :meth:`penalty_inputs`."""

    # --- shared update ----------------------------------------------------------------------
    def compute_objective(
        self, batch: ExpertTorchMiniBatch
    ) -> tuple[ValueDICELoss, torch.Tensor, torch.Tensor]:
        """:math:`J`, the gradient penalty and the policy's entropy for one batch."""
        obs, next_obs = batch.observations, batch.next_observations
        assert isinstance(obs, torch.Tensor) and isinstance(next_obs, torch.Tensor)
        is_expert = batch.expert_mask()
        initial = batch.initial_observations
        if initial is None:  # expert states stand in for initial states
            initial = obs[is_expert]
        nu, nu_pi, entropy = self.evaluate_nu(obs, batch.actions, torch.cat([next_obs, initial]))
        loss = valuedice_objective(
            nu=nu,
            next_nu=nu_pi[: next_obs.shape[0]],
            initial_nu=nu_pi[next_obs.shape[0] :],
            terminals=batch.terminals,
            is_expert=is_expert,
            gamma=self._params.gamma,
            replay_regularization=self._params.replay_regularization,
        )
        expert, policy = self.penalty_inputs(obs[is_expert], batch.actions[is_expert])
        penalty = interpolation_gradient_penalty(self.nu_of_joint, expert, policy)
        return loss, penalty, entropy

    def inner_update(self, batch: TorchMiniBatch, grad_step: int) -> dict[str, float]:
        assert isinstance(batch, ExpertTorchMiniBatch)
        mods = self._modules
        mods.nu_optim.zero_grad()
        mods.actor_optim.zero_grad()
        loss, penalty, entropy = self.compute_objective(batch)
        orthogonal = orthogonal_regularization(mods.policy)
        params = self._params
        nu_loss = loss.objective + params.gp_weight * penalty
        # what the policy maximises besides J; its loss is -(J + bonus), nu's is J + lambda GP
        bonus = params.entropy_weight * entropy - params.orthogonal_regularization * orthogonal
        (nu_loss + bonus).backward()  # nu's gradient; the policy's, negated below
        for param in mods.policy.parameters():
            if param.grad is not None:
                param.grad.neg_()
        mods.nu_optim.step()
        mods.actor_optim.step()
        return asdict_as_float(
            ValueDICEUpdateLoss(
                objective=loss.objective,
                nonlinear=loss.nonlinear,
                linear=loss.linear,
                gp_loss=penalty,
                entropy=entropy,
                orthogonal_penalty=orthogonal,
            )
        )

    @property
    def policy(self) -> nn.Module:
        return self._modules.policy

    @property
    def policy_optim(self) -> torch.optim.Optimizer:
        return self._modules.actor_optim.optim

    @property
    def q_function(self) -> nn.ModuleList:
        return self._modules.q_funcs


class DiscreteValueDICEImpl(DiscreteQFunctionMixin, _ValueDICEImplBase):
    """:math:`\\nu(s, \\cdot)` over actions, categorical policy; expectations are exact sums."""

    _modules: DiscreteValueDICEModules
    _q_func_forwarder: DiscreteEnsembleQFunctionForwarder

    def __init__(
        self,
        *,
        observation_shape: Shape,
        action_size: int,
        modules: DiscreteValueDICEModules,
        q_func_forwarder: DiscreteEnsembleQFunctionForwarder,
        params: ValueDICEParams,
        device: str,
    ) -> None:
        super().__init__(
            observation_shape=observation_shape,
            action_size=action_size,
            modules=modules,
            device=device,
        )
        self._q_func_forwarder = q_func_forwarder
        self._params = params

    def _probs(self, obs: TorchObservation) -> torch.Tensor:
        return self._modules.policy(obs).probs

    def evaluate_nu(
        self, obs: torch.Tensor, actions: torch.Tensor, policy_states: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        values = self._q_func_forwarder.compute_expected_q(torch.cat([obs, policy_states]))
        n = obs.shape[0]
        probs = self._probs(policy_states)
        entropy = -(probs * torch.log(probs.clamp_min(1e-12))).sum(dim=1).mean()
        nu = values[:n].gather(1, actions.long().reshape(-1, 1))
        return nu, (probs * values[n:]).sum(dim=1, keepdim=True), entropy

    def penalty_inputs(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        one_hot = nn.functional.one_hot(actions.long().reshape(-1), self._action_size).to(obs.dtype)
        with torch.no_grad():
            sampled = torch.multinomial(self._probs(obs), 1).reshape(-1)
        policy_hot = nn.functional.one_hot(sampled, self._action_size).to(obs.dtype)
        return torch.cat([obs, one_hot], dim=1), torch.cat([obs, policy_hot], dim=1)

    def nu_of_joint(self, x: torch.Tensor) -> torch.Tensor:
        dim = x.shape[1] - self._action_size
        values = self._q_func_forwarder.compute_expected_q(x[:, :dim])
        return (values * x[:, dim:]).sum(dim=1, keepdim=True)

    def inner_predict_best_action(self, x: TorchObservation) -> torch.Tensor:
        return self._probs(x).argmax(dim=1)

    def inner_sample_action(self, x: TorchObservation) -> torch.Tensor:
        return torch.multinomial(self._probs(x), 1).reshape(-1)


class ContinuousValueDICEImpl(ContinuousQFunctionMixin, _ValueDICEImplBase):
    """:math:`\\nu(s, a)` critic, squashed-Gaussian policy with reparameterised samples."""

    _modules: ContinuousValueDICEModules
    _q_func_forwarder: ContinuousEnsembleQFunctionForwarder

    def __init__(
        self,
        *,
        observation_shape: Shape,
        action_size: int,
        modules: ContinuousValueDICEModules,
        q_func_forwarder: ContinuousEnsembleQFunctionForwarder,
        params: ValueDICEParams,
        device: str,
    ) -> None:
        super().__init__(
            observation_shape=observation_shape,
            action_size=action_size,
            modules=modules,
            device=device,
        )
        self._q_func_forwarder = q_func_forwarder
        self._params = params

    def _dist(self, obs: TorchObservation) -> SquashedGaussianDistribution:
        return build_squashed_gaussian_distribution(self._modules.policy(obs))

    def evaluate_nu(
        self, obs: torch.Tensor, actions: torch.Tensor, policy_states: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sampled, log_prob = self._dist(policy_states).sample_with_log_prob()
        values = self._q_func_forwarder.compute_expected_q(
            torch.cat([obs, policy_states]), torch.cat([actions, sampled]), "mean"
        )
        n = obs.shape[0]
        return values[:n], values[n:], -log_prob.mean()

    def penalty_inputs(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            sampled = self._dist(obs).sample()
        return torch.cat([obs, actions], dim=1), torch.cat([obs, sampled], dim=1)

    def nu_of_joint(self, x: torch.Tensor) -> torch.Tensor:
        dim = x.shape[1] - self._action_size
        return self._q_func_forwarder.compute_expected_q(x[:, :dim], x[:, dim:], "mean")

    def inner_predict_best_action(self, x: TorchObservation) -> torch.Tensor:
        return torch.tanh(self._modules.policy(x).mu)

    def inner_sample_action(self, x: TorchObservation) -> torch.Tensor:
        return self._dist(x).sample()
