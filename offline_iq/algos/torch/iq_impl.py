"""Torch impl of continuous IQ-Learn: inverse soft actor-critic (sec. 4.4, Algorithm 1)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

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

__all__ = ["IQLearnImpl", "IQLearnModules", "PolicySamples"]


@dataclasses.dataclass(frozen=True)
class IQLearnModules(Modules):
    policy: NormalPolicy
    q_funcs: nn.ModuleList
    targ_q_funcs: nn.ModuleList
    log_temp: Parameter
    actor_optim: OptimizerWrapper
    critic_optim: OptimizerWrapper
    temp_optim: OptimizerWrapper | None


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
        return int(self.log_probs.shape[1])

    def detach(self) -> PolicySamples:
        return PolicySamples(
            self.actions.detach(), self.log_probs.detach(), self.mean_actions.detach()
        )


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
        self._target_entropy = -float(action_size) if target_entropy is None else target_entropy
        hard_sync(modules.targ_q_funcs, modules.q_funcs)

    @property
    def temperature(self) -> torch.Tensor:
        return get_parameter(self._modules.log_temp).exp()[0][0]

    def sample_with_log_prob(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``a ~ pi(.|s)`` (in [-1, 1]) and ``log pi(a|s)`` of shape ``(B, 1)``."""
        dist = build_squashed_gaussian_distribution(self._modules.policy(x))
        return dist.sample_with_log_prob()

    def policy_samples(self, x: torch.Tensor, n: int) -> PolicySamples:
        """``n`` reparameterised samples per state of ``x`` from one policy forward pass."""
        action = self._modules.policy(x)
        dist = build_squashed_gaussian_distribution(action)
        actions, log_probs = dist.sample_n_with_log_prob(n)  # (B, n, A), (B, n, 1)
        return PolicySamples(
            actions.reshape(-1, actions.shape[-1]), log_probs, torch.tanh(action.mu)
        )

    def soft_v_from_q(self, q: torch.Tensor, samples: PolicySamples) -> torch.Tensor:
        """``V(s)`` per critic, ``(N, B, 1)``, from ``q = Q(s, a_k)`` of shape ``(N, B * K, 1)``."""
        n_critics, k = q.shape[0], samples.n
        q_mean = q.view(n_critics, -1, k).mean(dim=2, keepdim=True)
        entropy_term = self.temperature.detach() * samples.log_probs.mean(dim=1)
        return q_mean - entropy_term

    def soft_v(
        self, x: torch.Tensor, forwarder: ContinuousEnsembleQFunctionForwarder, reduction: str
    ) -> torch.Tensor:
        """``V(s)`` per critic (``reduction="none"``: ``(N, B, 1)``) or reduced (``(B, 1)``)."""
        with torch.no_grad():
            samples = self.policy_samples(x, self._n_value_samples)
        x_rep = x.repeat_interleave(samples.n, dim=0)
        v = self.soft_v_from_q(
            forwarder.compute_expected_q(x_rep, samples.actions, "none"), samples
        )
        return v if reduction == "none" else forwarder_reduce(v, reduction)

    def compute_critic_loss(
        self, batch: ExpertTorchMiniBatch, samples: PolicySamples | None = None
    ) -> tuple[IQLoss, torch.Tensor]:
        """IQ-Learn critic loss (mean over the ensemble) and the mean ``Q`` of expert rows.

        ``samples``: the policy's actions at ``batch.observations`` (drawn here if ``None``).
        """
        obj = self._objective
        obs, next_obs = batch.observations, batch.next_observations
        assert isinstance(obs, torch.Tensor) and isinstance(next_obs, torch.Tensor)
        is_expert = batch.expert_mask()
        k = self._n_value_samples
        if samples is None:
            with torch.no_grad():
                samples = self.policy_samples(obs, k)
        samples = samples.detach()
        online_next = not self._use_target_network
        v0 = obj.value_objective == "v0"
        # states whose V uses the online critic, besides obs
        extra: list[torch.Tensor] = [next_obs] if online_next else []
        if v0:
            initial = batch.initial_observations
            assert isinstance(initial, torch.Tensor), "v0 needs initial observations"
            extra.append(initial)
        with torch.no_grad():
            others = [self.policy_samples(x, k) for x in extra]
            next_samples = others[0] if online_next else self.policy_samples(next_obs, k)
        actions = batch.actions
        if obj.state_only:  # expert actions unused: score the policy's own actions (sec. 5.4)
            with torch.no_grad():
                actions, _ = self.sample_with_log_prob(obs)
        # one forward pass of the online ensemble: (s, a), (s, a_pi), [(s', a'_pi)], [(s0, a0)]
        xs = [obs, obs.repeat_interleave(k, dim=0)] + [x.repeat_interleave(k, dim=0) for x in extra]
        acts = [actions, samples.actions] + [s.actions for s in others]
        q_cat = self._q_func_forwarder.compute_expected_q(torch.cat(xs), torch.cat(acts), "none")
        sizes = [x.shape[0] for x in xs]
        q_all, *q_values = torch.split(q_cat, sizes, dim=1)
        v_all = self.soft_v_from_q(q_values[0], samples)
        other_v = [self.soft_v_from_q(q, s) for q, s in zip(q_values[1:], others, strict=True)]
        if online_next:
            next_v_all = other_v.pop(0)
        else:
            with torch.no_grad():
                next_q = self._targ_q_func_forwarder.compute_expected_q(
                    next_obs.repeat_interleave(k, dim=0), next_samples.actions, "none"
                )
                next_v_all = self.soft_v_from_q(next_q, next_samples)
        initial_v_all = other_v.pop(0) if v0 else None
        penalty = (
            self._gradient_penalty(obs, batch.actions, is_expert)
            if obj.uses_gradient_penalty
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

    def compute_actor_loss(
        self, obs: torch.Tensor, samples: PolicySamples | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SAC actor loss ``E[alpha log pi(a|s) - Q(s, a)]`` and ``log pi`` (``(B, K, 1)``).

        ``Q`` is the ensemble reduced by ``actor_q_reduction``; the critics' weights get no
        gradient. ``samples`` (reparameterised, with their graph) are drawn here if ``None``.
        """
        if samples is None:
            samples = self.policy_samples(obs, self._n_value_samples)
        with self._frozen_critics():
            q = self._q_func_forwarder.compute_expected_q(
                obs.repeat_interleave(samples.n, dim=0), samples.actions, self._actor_q_reduction
            )
        q = q.view(-1, samples.n, 1)
        loss = (self.temperature.detach() * samples.log_probs - q).mean()
        return loss, samples.log_probs

    def compute_q_filter_bc_loss(
        self, batch: ExpertTorchMiniBatch, samples: PolicySamples
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Q-filtered behaviour cloning (Nair et al., 2018) and the fraction of rows it uses.

        .. math::

            \overline{|Q|} \, \frac{1}{|E|} \sum_{(s, a) \in E}
                \mathbb{1}\big[Q(s, a) > Q(s, \bar a(s))\big] \, \lVert \bar a(s) - a \rVert^2,
            \qquad \bar a(s) = \tanh \mu(s),

        over the batch's expert rows :math:`E`: the actor's deterministic action is pulled
        toward the expert's only where the critic (reduced by ``actor_q_reduction``) rates the
        expert action higher, a policy-improvement step the critic agrees with.
        :math:`\overline{|Q|}`, the batch mean of :math:`|Q(s, \bar a(s))|` (no gradient),
        keeps the balance with the SAC term's :math:`Q` independent of the scale of :math:`Q`
        (as TD3+BC normalises, Fujimoto & Gu, 2021); IQ-Learn's Q levels drift as it trains.
        """
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
        squared = ((mean_actions - batch.actions) ** 2).sum(dim=1)
        n_expert = is_expert.sum().clamp(min=1)
        return scale * (squared * use).sum() / n_expert, use.sum() / n_expert

    @contextlib.contextmanager
    def _frozen_critics(self) -> Iterator[None]:
        params = list(self._modules.q_funcs.parameters())
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def inner_update(self, batch: TorchMiniBatch, grad_step: int) -> dict[str, float]:
        assert isinstance(batch, ExpertTorchMiniBatch)
        mods = self._modules
        obs = batch.observations
        assert isinstance(obs, torch.Tensor)
        # one policy pass serves V(s) in the critic step (detached) and the actor step
        samples = self.policy_samples(obs, self._n_value_samples)

        mods.critic_optim.zero_grad()
        critic_loss, q_expert = self.compute_critic_loss(batch, samples)
        critic_loss.loss.backward()
        mods.critic_optim.step()

        mods.actor_optim.zero_grad()
        actor_loss, log_prob = self.compute_actor_loss(obs, samples)
        bc_loss, bc_fraction = torch.zeros(()), torch.zeros(())
        if self._q_filter_bc_weight > 0:
            bc_loss, bc_fraction = self.compute_q_filter_bc_loss(batch, samples)
            (actor_loss + self._q_filter_bc_weight * bc_loss).backward()
        else:
            actor_loss.backward()
        mods.actor_optim.step()

        temp_loss = torch.zeros(())
        if mods.temp_optim is not None:
            mods.temp_optim.zero_grad()
            target = log_prob.detach() + self._target_entropy
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
            "gp_loss": float(critic_loss.gp_loss),
            "actor_loss": float(actor_loss.detach()),
            "bc_loss": float(bc_loss.detach()),
            "bc_fraction": float(bc_fraction),
            "temp": float(self.temperature.detach()),
            "temp_loss": float(temp_loss.detach()),
            "q_expert": float(q_expert),
            "reward_expert": float(critic_loss.expert_reward),
            "reward_policy": float(critic_loss.policy_reward),
            "entropy": float(-log_prob.detach().mean()),
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


def forwarder_reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce ``(N, B, 1)`` ensemble values over the ensemble (``min``, ``max`` or ``mean``)."""
    if reduction == "min":
        return values.min(dim=0).values
    if reduction == "max":
        return values.max(dim=0).values
    if reduction == "mean":
        return values.mean(dim=0)
    raise ValueError(f"unknown reduction {reduction!r}")
