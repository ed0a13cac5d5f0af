"""Torch impl of continuous IQ-Learn: inverse soft actor-critic (sec. 4.4, Algorithm 1)."""

from __future__ import annotations

import dataclasses

import torch
from d3rlpy.algos.qlearning.base import QLearningAlgoImplBase
from d3rlpy.algos.qlearning.torch.utility import ContinuousQFunctionMixin
from d3rlpy.models.torch import (
    ContinuousEnsembleQFunctionForwarder,
    NormalPolicy,
    Parameter,
    Policy,
    build_squashed_gaussian_distribution,
    get_parameter,
)
from d3rlpy.optimizers import OptimizerWrapper
from d3rlpy.torch_utility import Modules, TorchMiniBatch, hard_sync, soft_sync
from d3rlpy.types import Shape, TorchObservation
from torch import nn

from offline_iq.algos.expert_mixing import ExpertTorchMiniBatch
from offline_iq.algos.iq_loss import IQLoss, interpolation_gradient_penalty
from offline_iq.algos.iq_objective import IQObjective

__all__ = ["IQLearnImpl", "IQLearnModules"]


@dataclasses.dataclass(frozen=True)
class IQLearnModules(Modules):
    policy: NormalPolicy
    q_funcs: nn.ModuleList
    targ_q_funcs: nn.ModuleList
    log_temp: Parameter
    actor_optim: OptimizerWrapper
    critic_optim: OptimizerWrapper
    temp_optim: OptimizerWrapper | None


class IQLearnImpl(ContinuousQFunctionMixin, QLearningAlgoImplBase):
    r"""Critic by the IQ-Learn objective, actor by the SAC update, squashed-Gaussian policy.

    :math:`V^\pi(s) = \mathbb{E}_{a \sim \pi}[Q(s, a) - \alpha \log \pi(a|s)]`, estimated with
    ``n_value_samples`` actions. Each critic of the ensemble is trained on its own IQ-Learn
    objective; the actor maximises the ensemble minimum.
    """

    _modules: IQLearnModules
    _q_func_forwarder: ContinuousEnsembleQFunctionForwarder
    _targ_q_func_forwarder: ContinuousEnsembleQFunctionForwarder

    def __init__(
        self,
        *,
        observation_shape: Shape,
        action_size: int,
        modules: IQLearnModules,
        q_func_forwarder: ContinuousEnsembleQFunctionForwarder,
        targ_q_func_forwarder: ContinuousEnsembleQFunctionForwarder,
        objective: IQObjective,
        use_target_network: bool,
        tau: float,
        n_value_samples: int,
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
        self._use_target_network = use_target_network
        self._tau = tau
        self._n_value_samples = n_value_samples
        hard_sync(modules.targ_q_funcs, modules.q_funcs)

    @property
    def temperature(self) -> torch.Tensor:
        return get_parameter(self._modules.log_temp).exp()[0][0]

    def sample_with_log_prob(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``a ~ pi(.|s)`` (in [-1, 1]) and ``log pi(a|s)`` of shape ``(B, 1)``."""
        dist = build_squashed_gaussian_distribution(self._modules.policy(x))
        return dist.sample_with_log_prob()

    def soft_v(
        self, x: torch.Tensor, forwarder: ContinuousEnsembleQFunctionForwarder, reduction: str
    ) -> torch.Tensor:
        """``V(s)`` per critic (``reduction="none"``: ``(N, B, 1)``) or reduced (``(B, 1)``)."""
        values = []
        temp = self.temperature.detach()
        for _ in range(self._n_value_samples):
            with torch.no_grad():
                action, log_prob = self.sample_with_log_prob(x)
            values.append(forwarder.compute_expected_q(x, action, reduction) - temp * log_prob)
        return torch.stack(values).mean(dim=0)

    def compute_critic_loss(self, batch: ExpertTorchMiniBatch) -> tuple[IQLoss, torch.Tensor]:
        obj = self._objective
        obs, next_obs = batch.observations, batch.next_observations
        assert isinstance(obs, torch.Tensor) and isinstance(next_obs, torch.Tensor)
        is_expert = batch.expert_mask()
        actions = batch.actions
        if obj.state_only:  # expert actions unused: score the policy's own actions (sec. 5.4)
            with torch.no_grad():
                actions, _ = self.sample_with_log_prob(obs)
        q_all = self._q_func_forwarder.compute_expected_q(obs, actions, "none")
        v_all = self.soft_v(obs, self._q_func_forwarder, "none")
        if self._use_target_network:
            with torch.no_grad():
                next_v_all = self.soft_v(next_obs, self._targ_q_func_forwarder, "none")
        else:
            next_v_all = self.soft_v(next_obs, self._q_func_forwarder, "none")
        initial_v_all = None
        if obj.value_objective == "v0":
            assert batch.initial_observations is not None, "v0 needs initial observations"
            initial_v_all = self.soft_v(batch.initial_observations, self._q_func_forwarder, "none")
        penalty = (
            self._gradient_penalty(obs, batch.actions, is_expert)
            if obj.divergence == "w1"
            else None
        )
        losses = [
            obj.loss(
                q=q_all[i],
                v=v_all[i],
                next_v=next_v_all[i],
                terminals=batch.terminals,
                is_expert=is_expert,
                initial_v=None if initial_v_all is None else initial_v_all[i],
                gradient_penalty=penalty,
            )
            for i in range(q_all.shape[0])
        ]
        total = IQLoss(
            *(
                torch.stack([getattr(part, f.name) for part in losses]).mean()
                for f in dataclasses.fields(IQLoss)
            )
        )
        q_expert = q_all.mean(dim=0)[is_expert].mean().detach()
        return total, q_expert

    def _gradient_penalty(
        self, obs: torch.Tensor, actions: torch.Tensor, is_expert: torch.Tensor
    ) -> torch.Tensor:
        """W1 penalty on (state, action) interpolates of expert and policy pairs."""
        expert = torch.cat([obs, actions], dim=1)[is_expert]
        if bool((~is_expert).any()):
            policy = torch.cat([obs, actions], dim=1)[~is_expert]
            n = min(len(expert), len(policy))
            expert, policy = expert[:n], policy[:n]
        else:  # offline: the policy's own actions at expert states
            with torch.no_grad():
                sampled, _ = self.sample_with_log_prob(obs[is_expert])
            policy = torch.cat([obs[is_expert], sampled], dim=1)
        dim = obs.shape[1]

        def critic(x: torch.Tensor) -> torch.Tensor:
            return self._q_func_forwarder.compute_expected_q(x[:, :dim], x[:, dim:], "mean")

        return interpolation_gradient_penalty(critic, expert, policy, self._objective.lipschitz)

    def compute_actor_loss(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """SAC actor loss ``E[alpha log pi(a|s) - min_i Q_i(s, a)]`` and ``log pi``."""
        action, log_prob = self.sample_with_log_prob(obs)
        q = self._q_func_forwarder.compute_expected_q(obs, action, "min")
        return (self.temperature.detach() * log_prob - q).mean(), log_prob

    def inner_update(self, batch: TorchMiniBatch, grad_step: int) -> dict[str, float]:
        assert isinstance(batch, ExpertTorchMiniBatch)
        mods = self._modules
        mods.critic_optim.zero_grad()
        critic_loss, q_expert = self.compute_critic_loss(batch)
        critic_loss.loss.backward()
        mods.critic_optim.step()

        obs = batch.observations
        assert isinstance(obs, torch.Tensor)
        mods.actor_optim.zero_grad()
        actor_loss, log_prob = self.compute_actor_loss(obs)
        actor_loss.backward()
        mods.actor_optim.step()

        temp_loss = torch.zeros(())
        if mods.temp_optim is not None:
            mods.temp_optim.zero_grad()
            target = log_prob.detach() - self._action_size
            temp_loss = -(get_parameter(mods.log_temp).exp() * target).mean()
            temp_loss.backward()
            mods.temp_optim.step()
        if self._use_target_network:
            soft_sync(mods.targ_q_funcs, mods.q_funcs, self._tau)
        return {
            "loss": float(critic_loss.loss.detach()),
            "softq_loss": float(critic_loss.softq_loss.detach()),
            "value_loss": float(critic_loss.value_loss.detach()),
            "chi2_loss": float(critic_loss.chi2_loss.detach()),
            "actor_loss": float(actor_loss.detach()),
            "temp": float(self.temperature.detach()),
            "temp_loss": float(temp_loss.detach()),
            "q_expert": float(q_expert),
            "reward_expert": float(critic_loss.expert_reward),
            "reward_policy": float(critic_loss.policy_reward),
        }

    def inner_predict_best_action(self, x: TorchObservation) -> torch.Tensor:
        return torch.tanh(self._modules.policy(x).mu)

    def inner_sample_action(self, x: TorchObservation) -> torch.Tensor:
        return build_squashed_gaussian_distribution(self._modules.policy(x)).sample()

    @property
    def policy(self) -> Policy:
        return self._modules.policy

    @property
    def policy_optim(self) -> torch.optim.Optimizer:
        return self._modules.actor_optim.optim

    @property
    def q_function(self) -> nn.ModuleList:
        return self._modules.q_funcs
