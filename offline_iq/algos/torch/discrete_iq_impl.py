"""Torch impl of discrete IQ-Learn: inverse soft-Q learning over a Q(s, .) network."""

from __future__ import annotations

import dataclasses

import torch
from d3rlpy.algos.qlearning.base import QLearningAlgoImplBase
from d3rlpy.algos.qlearning.torch.utility import DiscreteQFunctionMixin
from d3rlpy.models.torch import DiscreteEnsembleQFunctionForwarder
from d3rlpy.optimizers import OptimizerWrapper
from d3rlpy.torch_utility import Modules, TorchMiniBatch, hard_sync
from d3rlpy.types import Shape, TorchObservation
from torch import nn

from offline_iq.algos.iq_loss import (
    IQLoss,
    IQObjective,
    expert_rows,
    extend_loss,
    iq_loss,
    soft_value,
)
from offline_iq.algos.penalties import expert_policy_pairs, interpolation_gradient_penalty
from offline_iq.algos.torch.updates import as_floats, clear_grads, polyak_update
from offline_iq.algos.torch_batches import ExpertTorchMiniBatch

__all__ = ["DiscreteIQLearnImpl", "DiscreteIQLearnLoss", "DiscreteIQLearnModules"]


@dataclasses.dataclass(frozen=True)
class DiscreteIQLearnModules(Modules):
    q_funcs: nn.ModuleList
    targ_q_funcs: nn.ModuleList
    optim: OptimizerWrapper


@dataclasses.dataclass(frozen=True)
class DiscreteIQLearnLoss(IQLoss):
    """The critic loss's terms plus the mean ``Q`` and ``V`` of expert rows (for logs)."""

    q_expert: torch.Tensor
    v_expert: torch.Tensor


class DiscreteIQLearnImpl(DiscreteQFunctionMixin, QLearningAlgoImplBase):
    """Soft-Q critic with :math:`V(s) = \\alpha \\log\\sum_a e^{Q(s, a)/\\alpha}`."""

    _modules: DiscreteIQLearnModules
    _q_func_forwarder: DiscreteEnsembleQFunctionForwarder
    _targ_q_func_forwarder: DiscreteEnsembleQFunctionForwarder

    def __init__(
        self,
        *,
        observation_shape: Shape,
        action_size: int,
        modules: DiscreteIQLearnModules,
        q_func_forwarder: DiscreteEnsembleQFunctionForwarder,
        targ_q_func_forwarder: DiscreteEnsembleQFunctionForwarder,
        objective: IQObjective,
        temperature: float,
        use_target_network: bool,
        tau: float,
        device: str,
    ) -> None:
        super().__init__(
            observation_shape=observation_shape,
            action_size=action_size,
            modules=modules,
            device=device,
        )
        self._q_func_forwarder = q_func_forwarder
        self._targ_q_func_forwarder = targ_q_func_forwarder
        self._objective = objective
        self._temperature = temperature
        self._use_target_network = use_target_network
        self._tau = tau
        hard_sync(modules.targ_q_funcs, modules.q_funcs)
        self._polyak_pairs = (
            list(modules.targ_q_funcs.parameters()),
            list(modules.q_funcs.parameters()),
        )

    def q_values(self, x: TorchObservation) -> torch.Tensor:
        """``Q(s, .)``, shape ``(B, n_actions)``."""
        return self._q_func_forwarder.compute_expected_q(x)

    def soft_v(self, x: TorchObservation) -> torch.Tensor:
        """``V(s) = alpha logsumexp(Q(s, .) / alpha)``, shape ``(B, 1)``."""
        return soft_value(self.q_values(x), self._temperature)

    def next_q_values(self, next_x: TorchObservation) -> torch.Tensor:
        """``Q(s', .)`` the critic loss bootstraps from: the target network's if it has one."""
        if self._use_target_network:
            return self._targ_q_func_forwarder.compute_expected_q(next_x)
        return self.q_values(next_x)

    def implicit_reward(
        self,
        obs: torch.Tensor,
        actions: torch.Tensor,
        next_obs: torch.Tensor,
        terminals: torch.Tensor,
        is_expert: torch.Tensor | None = None,
    ) -> torch.Tensor:
        r"""The reward the critic loss trains on, :math:`Q(s, a) - \gamma (1 - d) V(s')`,
        shape ``(B, 1)``, for (already scaled) observations and integer ``actions``.

        Exactly the loss's treatment (:meth:`~offline_iq.algos.iq_loss.IQObjective.
        implicit_reward`): ``Q`` is the ensemble mean (the one critic the loss trains),
        :math:`V(s')` its soft value from the target network when the loss uses one, clipped
        with ``bounded_targets``, and a termination (``terminals`` ``(B, 1)``) bootstraps from
        the absorbing state with ``absorbing`` (on expert rows per ``expert_terminations``;
        ``is_expert`` ``(B,)`` bool, ``None``: every row is an expert row, as offline).
        Differentiable; the loss computes the same with its own forward passes.
        """
        q = self.q_values(obs).gather(1, actions.long().reshape(-1, 1))
        next_v = soft_value(self.next_q_values(next_obs), self._temperature)
        return self._objective.implicit_reward(q, next_v, terminals, is_expert)[0]

    def compute_loss(self, batch: ExpertTorchMiniBatch) -> DiscreteIQLearnLoss:
        """The IQ-Learn critic loss of ``batch`` (eq. 9 with this impl's objective)."""
        obj = self._objective
        obs, next_obs = batch.observations, batch.next_observations
        assert isinstance(obs, torch.Tensor) and isinstance(next_obs, torch.Tensor)
        if self._use_target_network:
            q_all = self.q_values(obs)
            with torch.no_grad():
                next_q_all = self.next_q_values(next_obs)
        else:  # one forward pass over s and s'
            both = self.q_values(torch.cat([obs, next_obs]))
            q_all, next_q_all = both[: obs.shape[0]], both[obs.shape[0] :]
        v = soft_value(q_all, self._temperature)
        taken = q_all.gather(1, batch.actions.long().reshape(-1, 1))
        q, q_weights = taken, None
        if obj.state_only or obj.uses_gradient_penalty:  # both need the policy's probabilities
            policy_probs = torch.softmax(q_all / self._temperature, dim=1).detach()
            if obj.state_only:  # expert actions unused: average phi over the policy (sec. 5.4)
                q, q_weights = q_all, policy_probs
        initial_v = None
        if obj.value_objective == "v0":
            assert batch.initial_observations is not None, "v0 needs initial observations"
            initial_v = self.soft_v(batch.initial_observations)
        penalty = None
        if obj.uses_gradient_penalty:
            penalty = self._gradient_penalty(batch, batch.expert_mask(), policy_probs)
        loss = iq_loss(
            obj,
            q=q,
            v=v,
            next_v=soft_value(next_q_all, self._temperature),
            terminals=batch.terminals,
            is_expert=batch.is_expert,
            initial_v=initial_v,
            gradient_penalty=penalty,
            q_weights=q_weights,
        )
        return extend_loss(
            loss,
            DiscreteIQLearnLoss,
            q_expert=expert_rows(taken, batch.is_expert).mean().detach(),
            v_expert=expert_rows(v, batch.is_expert).mean().detach(),
        )

    def _gradient_penalty(
        self, batch: ExpertTorchMiniBatch, is_expert: torch.Tensor, probs: torch.Tensor
    ) -> torch.Tensor:
        """W1 penalty on (state, one-hot action) interpolates of expert and policy pairs."""
        obs = batch.observations
        assert isinstance(obs, torch.Tensor), "w1 needs array observations"
        one_hot = torch.nn.functional.one_hot(batch.actions.long().reshape(-1), self._action_size)

        def own_inputs() -> torch.Tensor:  # offline: the policy's own actions at expert states
            sampled = torch.multinomial(probs[is_expert], 1).reshape(-1)
            policy_one_hot = torch.nn.functional.one_hot(sampled, self._action_size).to(obs.dtype)
            return torch.cat([obs[is_expert], policy_one_hot], dim=1)

        inputs = torch.cat([obs, one_hot.to(obs.dtype)], dim=1)
        expert, policy = expert_policy_pairs(inputs, is_expert, own_inputs)
        dim = obs.shape[1]

        def critic(x: torch.Tensor) -> torch.Tensor:
            return (self.q_values(x[:, :dim]) * x[:, dim:]).sum(dim=1, keepdim=True)

        return interpolation_gradient_penalty(critic, expert, policy, self._objective.lipschitz)

    def inner_update(self, batch: TorchMiniBatch, grad_step: int) -> dict[str, float]:
        assert isinstance(batch, ExpertTorchMiniBatch)
        clear_grads(self._modules.optim)
        loss = self.compute_loss(batch)
        loss.loss.backward()
        self._modules.optim.step()
        if self._use_target_network:
            polyak_update(*self._polyak_pairs, self._tau)
        return as_floats(loss)

    def inner_predict_best_action(self, x: TorchObservation) -> torch.Tensor:
        return self.q_values(x).argmax(dim=1)

    def action_probabilities(self, x: TorchObservation) -> torch.Tensor:
        """The soft-optimal policy ``softmax(Q(s, .) / alpha)``, shape ``(B, A)``."""
        return torch.softmax(self.q_values(x) / self._temperature, dim=1)

    def inner_sample_action(self, x: TorchObservation) -> torch.Tensor:
        """Sample from the soft-optimal policy ``softmax(Q / alpha)``."""
        return torch.multinomial(self.action_probabilities(x), 1).reshape(-1)

    @property
    def q_function(self) -> nn.ModuleList:
        return self._modules.q_funcs

    @property
    def next_q_function(self) -> nn.ModuleList:
        """The critics :meth:`next_q_values` reads (the target network's if the loss uses it)."""
        return self._modules.targ_q_funcs if self._use_target_network else self._modules.q_funcs

    @property
    def temperature(self) -> float:
        return self._temperature
