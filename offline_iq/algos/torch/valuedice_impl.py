"""Torch impls of ValueDICE for discrete and continuous actions.

One backward pass serves both players: :math:`\\nu` descends :math:`J + \\lambda\\,GP` and the
policy ascends :math:`J` (its gradients are negated before the step; the gradient penalty is
computed on detached inputs, so it reaches :math:`\\nu` only).
"""

from __future__ import annotations

import dataclasses

import torch
from d3rlpy.algos.qlearning.base import QLearningAlgoImplBase
from d3rlpy.algos.qlearning.torch.utility import (
    ContinuousQFunctionMixin,
    DiscreteQFunctionMixin,
)
from d3rlpy.models.torch import (
    CategoricalPolicy,
    ContinuousEnsembleQFunctionForwarder,
    DiscreteEnsembleQFunctionForwarder,
    NormalPolicy,
    Policy,
    build_squashed_gaussian_distribution,
)
from d3rlpy.optimizers import OptimizerWrapper
from d3rlpy.torch_utility import Modules, TorchMiniBatch
from d3rlpy.types import Shape, TorchObservation
from torch import nn

from offline_iq.algos.expert_mixing import ExpertTorchMiniBatch
from offline_iq.algos.iq_loss import interpolation_gradient_penalty
from offline_iq.algos.valuedice_loss import ValueDICELoss, valuedice_objective

__all__ = [
    "ContinuousValueDICEImpl",
    "DiscreteValueDICEImpl",
    "ValueDICEModules",
    "ValueDICEParams",
]


@dataclasses.dataclass(frozen=True)
class ValueDICEModules(Modules):
    policy: nn.Module  # CategoricalPolicy (discrete) or NormalPolicy (continuous)
    q_funcs: nn.ModuleList  # nu
    actor_optim: OptimizerWrapper
    nu_optim: OptimizerWrapper


@dataclasses.dataclass(frozen=True)
class ValueDICEParams:
    gamma: float
    replay_regularization: float
    gp_weight: float
    entropy_weight: float


class _ValueDICEImplBase(QLearningAlgoImplBase):
    _modules: ValueDICEModules

    def __init__(
        self,
        *,
        observation_shape: Shape,
        action_size: int,
        modules: ValueDICEModules,
        q_func_forwarder: object,
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

    # --- what differs between action spaces -------------------------------------------------
    def evaluate_nu(
        self, obs: torch.Tensor, actions: torch.Tensor, policy_states: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """In one pass: :math:`\\nu(s, a)` at ``obs``, :math:`E_{a \\sim \\pi}[\\nu(s, a)]` at
        ``policy_states`` (differentiable in pi), and the policy's mean entropy there."""
        raise NotImplementedError

    def penalty_inputs(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(state, action)`` rows of the expert and of the policy at the same states."""
        raise NotImplementedError

    def nu_of_joint(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # --- shared update ----------------------------------------------------------------------
    def compute_objective(
        self, batch: ExpertTorchMiniBatch
    ) -> tuple[ValueDICELoss, torch.Tensor, torch.Tensor]:
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
        nu_loss = loss.objective + self._params.gp_weight * penalty
        # the policy maximises J + w H: add -w H for it, then flip its gradients
        (nu_loss - self._params.entropy_weight * entropy).backward()
        for param in mods.policy.parameters():
            if param.grad is not None:
                param.grad.neg_()
        mods.nu_optim.step()
        mods.actor_optim.step()
        return {
            "objective": float(loss.objective.detach()),
            "nonlinear": float(loss.nonlinear.detach()),
            "linear": float(loss.linear.detach()),
            "gp_loss": float(penalty.detach()),
            "entropy": float(entropy.detach()),
        }

    @property
    def policy(self) -> Policy:
        return self._modules.policy

    @property
    def policy_optim(self) -> torch.optim.Optimizer:
        return self._modules.actor_optim.optim

    @property
    def q_function(self) -> nn.ModuleList:
        return self._modules.q_funcs


class DiscreteValueDICEImpl(DiscreteQFunctionMixin, _ValueDICEImplBase):
    """:math:`\\nu(s, \\cdot)` over actions, categorical policy; expectations are exact sums."""

    _q_func_forwarder: DiscreteEnsembleQFunctionForwarder

    def _probs(self, obs: torch.Tensor) -> torch.Tensor:
        policy = self._modules.policy
        assert isinstance(policy, CategoricalPolicy)
        return policy(obs).probs

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
        assert isinstance(x, torch.Tensor)
        return self._probs(x).argmax(dim=1)

    def inner_sample_action(self, x: TorchObservation) -> torch.Tensor:
        assert isinstance(x, torch.Tensor)
        return torch.multinomial(self._probs(x), 1).reshape(-1)


class ContinuousValueDICEImpl(ContinuousQFunctionMixin, _ValueDICEImplBase):
    """:math:`\\nu(s, a)` critic, squashed-Gaussian policy with reparameterised samples."""

    _q_func_forwarder: ContinuousEnsembleQFunctionForwarder

    def _dist(self, obs: torch.Tensor) -> object:
        policy = self._modules.policy
        assert isinstance(policy, NormalPolicy)
        return build_squashed_gaussian_distribution(policy(obs))

    def evaluate_nu(
        self, obs: torch.Tensor, actions: torch.Tensor, policy_states: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sampled, log_prob = self._dist(policy_states).sample_with_log_prob()  # type: ignore[attr-defined]
        values = self._q_func_forwarder.compute_expected_q(
            torch.cat([obs, policy_states]), torch.cat([actions, sampled]), "mean"
        )
        n = obs.shape[0]
        return values[:n], values[n:], -log_prob.mean()

    def penalty_inputs(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            sampled = self._dist(obs).sample()  # type: ignore[attr-defined]
        return torch.cat([obs, actions], dim=1), torch.cat([obs, sampled], dim=1)

    def nu_of_joint(self, x: torch.Tensor) -> torch.Tensor:
        dim = x.shape[1] - self._action_size
        return self._q_func_forwarder.compute_expected_q(x[:, :dim], x[:, dim:], "mean")

    def inner_predict_best_action(self, x: TorchObservation) -> torch.Tensor:
        policy = self._modules.policy
        assert isinstance(policy, NormalPolicy)
        return torch.tanh(policy(x).mu)

    def inner_sample_action(self, x: TorchObservation) -> torch.Tensor:
        assert isinstance(x, torch.Tensor)
        return self._dist(x).sample()  # type: ignore[attr-defined]
