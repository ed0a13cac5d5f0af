"""Torch impl of continuous IQ-Learn: inverse soft actor-critic (sec. 4.4, Algorithm 1)."""

from __future__ import annotations

import torch
from d3rlpy.algos.qlearning.base import QLearningAlgoImplBase
from d3rlpy.algos.qlearning.torch.utility import ContinuousQFunctionMixin
from d3rlpy.models.torch import (
    ContinuousEnsembleQFunctionForwarder,
    Policy,
    build_squashed_gaussian_distribution,
    get_parameter,
)
from d3rlpy.torch_utility import TorchMiniBatch, hard_sync
from d3rlpy.types import Shape, TorchObservation
from torch import nn

from offline_iq.algos.iq_loss import IQObjective, expert_rows, extend_loss, iq_loss
from offline_iq.algos.torch.continuous_iq_parts import (
    IQLearnActorLoss,
    IQLearnCriticLoss,
    IQLearnModules,
    expert_bc_loss,
    frozen_parameters,
    mean_over_critics,
    policy_smoothness_loss,
    q_filtered_bc_loss,
    state_action_gradient_penalty,
)
from offline_iq.algos.torch.policy_samples import (
    PolicySamples,
    ensemble_soft_value,
    sample_policy,
    soft_value_of_samples,
)
from offline_iq.algos.torch.updates import as_floats, clear_grads, polyak_update
from offline_iq.algos.torch_batches import ExpertTorchMiniBatch

__all__ = ["IQLearnImpl", "IQLearnModules", "PolicySamples"]


class IQLearnImpl(ContinuousQFunctionMixin, QLearningAlgoImplBase):
    r"""Critic by the IQ-Learn objective, actor by the SAC update, squashed-Gaussian policy.

    :math:`V^\pi(s) = \mathbb{E}_{a \sim \pi}[Q(s, a) - \alpha \log \pi(a|s)]`, estimated with
    ``n_value_samples`` actions. Each critic of the ensemble is trained on its own IQ-Learn
    objective; the actor maximises the ensemble ``actor_q_reduction`` (``min`` or ``mean``).

    One update (Algorithm 1): the policy is run once on the batch's states (with gradients) and
    once on the next states (without); the critic step scores the detached samples with one
    forward pass of the online ensemble over every (state, action) pair it needs, then the actor
    step re-scores the same samples with the updated critics (whose weights are frozen for that
    backward pass, so no critic weight gradient is computed).
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
        actor_q_reduction: str = "min",
        q_filter_bc_weight: float = 0.0,
        expert_bc_weight: float = 0.0,
        smoothness_weight: float = 0.0,
        smoothness_sigma: float = 0.0,
        policy_averaging: float = 0.0,
        target_entropy: float | None = None,
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
        self._actor_q_reduction = actor_q_reduction
        self._q_filter_bc_weight = q_filter_bc_weight
        self._expert_bc_weight = expert_bc_weight
        self._smoothness_weight = smoothness_weight
        self._smoothness_sigma = smoothness_sigma
        self._target_entropy = -float(action_size) if target_entropy is None else target_entropy
        hard_sync(modules.targ_q_funcs, modules.q_funcs)
        self._critic_weights = list(modules.q_funcs.parameters())
        self._target_weights = list(modules.targ_q_funcs.parameters())
        if (modules.averaged_policy is None) != (policy_averaging == 0):
            raise ValueError("an averaged policy needs policy_averaging > 0, and the reverse")
        self._policy_averaging = policy_averaging
        self._policy_weights = list(modules.policy.parameters())
        self._averaged_weights = (
            [] if modules.averaged_policy is None else list(modules.averaged_policy.parameters())
        )

    @property
    def temperature(self) -> torch.Tensor:
        return get_parameter(self._modules.log_temp).exp()[0][0]

    def sample_with_log_prob(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``a ~ pi(.|s)`` (in [-1, 1]) and ``log pi(a|s)`` of shape ``(B, 1)``."""
        dist = build_squashed_gaussian_distribution(self._modules.policy(x))
        return dist.sample_with_log_prob()

    def policy_samples(self, x: torch.Tensor) -> PolicySamples:
        """``n_value_samples`` reparameterised actions per state of ``x``."""
        return sample_policy(self._modules.policy, x, self._n_value_samples)

    def next_soft_values(self, next_x: torch.Tensor, samples: PolicySamples) -> torch.Tensor:
        """``V(s')`` per critic, ``(N, B, 1)``, from the critics the loss bootstraps from (the
        target network's if it has one) and the policy's ``samples`` at ``next_x``."""
        forwarder = (
            self._targ_q_func_forwarder if self._use_target_network else self._q_func_forwarder
        )
        return ensemble_soft_value(forwarder, next_x, samples, self.temperature.detach())

    def implicit_reward(
        self,
        obs: torch.Tensor,
        actions: torch.Tensor,
        next_obs: torch.Tensor,
        terminals: torch.Tensor,
        is_expert: torch.Tensor | None = None,
        next_samples: PolicySamples | None = None,
    ) -> torch.Tensor:
        r"""The reward the critic loss trains on, shape ``(B, 1)``, for (already scaled)
        observations and actions: the mean over the ensemble of each critic's
        :math:`r_i = Q_i(s, a) - \gamma (1 - d) V_i(s')`.

        Each critic :math:`i` is trained on its own objective with its own
        :math:`V_i(s') = \frac{1}{K}\sum_k [Q_i(s', a_k) - \alpha \log \pi(a_k|s')]` (target
        network's :math:`Q_i` when the loss uses one), and the loss logs the mean over critics
        of their rewards; this is that mean, row by row. (The reference implementation takes
        one :math:`V` from :math:`\min(Q_1, Q_2)` instead; this learner does not.)
        ``bounded_targets`` clips each :math:`V_i(s')`, ``absorbing`` replaces it at
        terminations (sign by ``is_expert``, ``None``: every row expert), exactly as in the
        loss (:meth:`~offline_iq.algos.iq_loss.IQObjective.implicit_reward`).
        ``next_samples``: the policy's actions at ``next_obs`` (drawn here, as in training,
        if ``None``).
        """
        if next_samples is None:
            next_samples = self.policy_samples(next_obs)
        q = self._q_func_forwarder.compute_expected_q(obs, actions, "none")  # (N, B, 1)
        next_v = self.next_soft_values(next_obs, next_samples)
        rewards = [
            self._objective.implicit_reward(q[i], next_v[i], terminals, is_expert)[0]
            for i in range(q.shape[0])
        ]
        return torch.stack(rewards).mean(dim=0)

    def compute_critic_loss(
        self,
        batch: ExpertTorchMiniBatch,
        samples: PolicySamples | None = None,
        next_samples: PolicySamples | None = None,
    ) -> IQLearnCriticLoss:
        """IQ-Learn critic loss (mean over the ensemble) and the mean ``Q`` of expert rows.

        ``samples``, ``next_samples``: the policy's actions at ``batch.observations`` and
        ``batch.next_observations`` (drawn here if ``None``). :math:`V(s')` comes from the
        target network if there is one, else from the online critic in the same forward pass
        as :math:`Q(s, a)` and :math:`V(s)`. Each critic has its own :math:`V`
        (:meth:`implicit_reward`).
        """
        obj = self._objective
        obs, next_obs = batch.observations, batch.next_observations
        assert isinstance(obs, torch.Tensor) and isinstance(next_obs, torch.Tensor)
        with torch.no_grad():
            samples = (self.policy_samples(obs) if samples is None else samples).detach()
            value_inputs = {
                "v": (obs, samples),
                "next_v": (
                    next_obs,
                    self.policy_samples(next_obs)
                    if next_samples is None
                    else next_samples.detach(),
                ),
            }
            if obj.value_objective == "v0":
                initial = batch.initial_observations
                assert isinstance(initial, torch.Tensor), "v0 needs initial observations"
                value_inputs["initial_v"] = (initial, self.policy_samples(initial))
            # state-only imitation never reads the expert's actions: score the policy's (sec. 5.4)
            actions = self.sample_with_log_prob(obs)[0] if obj.state_only else batch.actions
        target_inputs = value_inputs.pop("next_v") if self._use_target_network else None
        q_taken, values = self._score(obs, actions, value_inputs)
        if target_inputs is not None:
            with torch.no_grad():
                values["next_v"] = self.next_soft_values(*target_inputs)
        penalty = None
        if obj.uses_gradient_penalty:
            penalty = self._gradient_penalty(obs, batch.actions, batch.expert_mask())
        losses = [
            iq_loss(
                obj,
                q=q_taken[i],
                v=values["v"][i],
                next_v=values["next_v"][i],
                terminals=batch.terminals,
                is_expert=batch.is_expert,
                initial_v=values["initial_v"][i] if "initial_v" in values else None,
                gradient_penalty=penalty,
            )
            for i in range(q_taken.shape[0])
        ]
        q_expert = expert_rows(q_taken.mean(dim=0), batch.is_expert).mean().detach()
        return extend_loss(mean_over_critics(losses), IQLearnCriticLoss, q_expert=q_expert)

    def _score(
        self,
        obs: torch.Tensor,
        actions: torch.Tensor,
        value_inputs: dict[str, tuple[torch.Tensor, PolicySamples]],
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``Q(s, a)`` per critic and each named ``V`` per critic, from one forward pass of the
        online ensemble over every (state, action) pair."""
        xs = [obs] + [x.repeat_interleave(s.n, dim=0) for x, s in value_inputs.values()]
        acts = [actions] + [s.actions for _, s in value_inputs.values()]
        q_cat = self._q_func_forwarder.compute_expected_q(torch.cat(xs), torch.cat(acts), "none")
        q_taken, *q_sampled = torch.split(q_cat, [x.shape[0] for x in xs], dim=1)
        temperature = self.temperature.detach()
        values = {
            name: soft_value_of_samples(q, s, temperature)
            for (name, (_, s)), q in zip(value_inputs.items(), q_sampled, strict=True)
        }
        return q_taken, values

    def _gradient_penalty(
        self, obs: torch.Tensor, actions: torch.Tensor, is_expert: torch.Tensor
    ) -> torch.Tensor:
        """W1 penalty on (state, action) interpolates of expert and policy pairs."""

        def own_actions() -> torch.Tensor:  # offline: the policy's actions at expert states
            with torch.no_grad():
                return self.sample_with_log_prob(obs[is_expert])[0]

        return state_action_gradient_penalty(
            self._q_func_forwarder, obs, actions, is_expert, own_actions, self._objective.lipschitz
        )

    def compute_actor_loss(
        self, obs: torch.Tensor, samples: PolicySamples | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SAC actor loss ``E[alpha log pi(a|s) - Q(s, a)]`` and ``log pi`` (``(B, K, 1)``).

        ``Q`` is the ensemble reduced by ``actor_q_reduction``; the critics' weights get no
        gradient. ``samples`` (reparameterised, with their graph) are drawn here if ``None``.
        """
        if samples is None:
            samples = self.policy_samples(obs)
        with frozen_parameters(self._critic_weights):
            q = self._q_func_forwarder.compute_expected_q(
                obs.repeat_interleave(samples.n, dim=0), samples.actions, self._actor_q_reduction
            )
        q = q.view(-1, samples.n, 1)
        loss = (self.temperature.detach() * samples.log_probs - q).mean()
        return loss, samples.log_probs

    def compute_q_filter_bc_loss(
        self, batch: ExpertTorchMiniBatch, samples: PolicySamples
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Q-filtered behaviour cloning (Nair et al., 2018) on the batch's expert rows and the
        fraction of them it uses (:func:`~offline_iq.algos.torch.continuous_iq_parts.
        q_filtered_bc_loss`); ``Q`` is the ensemble reduced by ``actor_q_reduction``."""
        obs = batch.observations
        assert isinstance(obs, torch.Tensor)
        is_expert = batch.expert_mask()
        mean_actions = samples.mean_actions
        with torch.no_grad():
            both = self._q_func_forwarder.compute_expected_q(
                torch.cat([obs, obs]),
                torch.cat([batch.actions, mean_actions.detach()]),
                self._actor_q_reduction,
            )
            q_expert, q_policy = torch.split(both, obs.shape[0])
            use = (q_expert > q_policy).reshape(-1) & is_expert
            scale = q_policy.abs().mean()
        return q_filtered_bc_loss(mean_actions, batch.actions, is_expert, use, scale)

    def inner_update(self, batch: TorchMiniBatch, grad_step: int) -> dict[str, float]:
        assert isinstance(batch, ExpertTorchMiniBatch)
        mods = self._modules
        obs = batch.observations
        assert isinstance(obs, torch.Tensor)
        # one policy pass serves V(s) in the critic step (detached) and the actor step
        samples = self.policy_samples(obs)

        clear_grads(mods.critic_optim)
        critic_loss = self.compute_critic_loss(batch, samples)
        critic_loss.loss.backward()
        mods.critic_optim.step()

        actor_loss = self._update_actor(batch, samples)
        if self._averaged_weights:
            polyak_update(self._averaged_weights, self._policy_weights, self._policy_averaging)
        if self._use_target_network:
            polyak_update(self._target_weights, self._critic_weights, self._tau)
        return as_floats(critic_loss, actor_loss)

    def _update_actor(
        self, batch: ExpertTorchMiniBatch, samples: PolicySamples
    ) -> IQLearnActorLoss:
        """The actor's SAC step (plus Q-filtered and always-on expert BC and the smoothness
        term), then the temperature's if it learns."""
        mods = self._modules
        obs = batch.observations
        assert isinstance(obs, torch.Tensor)
        clear_grads(mods.actor_optim)
        actor_loss, log_prob = self.compute_actor_loss(obs, samples)
        total = actor_loss
        bc_loss = bc_fraction = anchor_loss = smooth_loss = torch.zeros((), device=obs.device)
        if self._q_filter_bc_weight > 0:
            bc_loss, bc_fraction = self.compute_q_filter_bc_loss(batch, samples)
            total = total + self._q_filter_bc_weight * bc_loss
        if self._expert_bc_weight > 0:
            anchor_loss = expert_bc_loss(samples.mean_actions, batch.actions, batch.expert_mask())
            total = total + self._expert_bc_weight * anchor_loss
        if self._smoothness_weight > 0:
            nearby = obs + self._smoothness_sigma * torch.randn_like(obs)
            nearby_actions = torch.tanh(mods.policy(nearby).mu)
            smooth_loss = policy_smoothness_loss(samples.mean_actions, nearby_actions)
            total = total + self._smoothness_weight * smooth_loss
        total.backward()
        mods.actor_optim.step()

        temp_loss = torch.zeros((), device=obs.device)
        if mods.temp_optim is not None:  # SAC's temperature step toward the target entropy
            clear_grads(mods.temp_optim)
            temp_loss = -(
                get_parameter(mods.log_temp).exp() * (log_prob.detach() + self._target_entropy)
            ).mean()
            temp_loss.backward()
            mods.temp_optim.step()
        return IQLearnActorLoss(
            actor_loss=actor_loss.detach(),
            bc_loss=bc_loss.detach(),
            bc_fraction=bc_fraction,
            expert_bc_loss=anchor_loss.detach(),
            smoothness_loss=smooth_loss.detach(),
            temp=self.temperature.detach(),
            temp_loss=temp_loss.detach(),
            entropy=-log_prob.detach().mean(),
        )

    @property
    def acting_policy(self) -> Policy:
        """The policy ``predict`` acts with: the averaged one if the learner keeps it
        (``policy_averaging``), else the last iterate."""
        averaged = self._modules.averaged_policy
        return self._modules.policy if averaged is None else averaged

    def inner_predict_best_action(self, x: TorchObservation) -> torch.Tensor:
        return torch.tanh(self.acting_policy(x).mu)

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

    @property
    def next_q_function(self) -> nn.ModuleList:
        """The critics :meth:`next_soft_values` reads (the target network's if the loss uses
        it)."""
        return self._modules.targ_q_funcs if self._use_target_network else self._modules.q_funcs
