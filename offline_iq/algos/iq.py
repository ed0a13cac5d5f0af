"""Continuous IQ-Learn (inverse soft actor-critic) as a d3rlpy algorithm."""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from d3rlpy.base import DeviceArg, register_learnable
from d3rlpy.constants import ActionSpace
from d3rlpy.models.builders import (
    create_continuous_q_function,
    create_normal_policy,
    create_parameter,
)
from d3rlpy.models.encoders import EncoderFactory, make_encoder_field
from d3rlpy.models.q_functions import QFunctionFactory, make_q_func_field
from d3rlpy.optimizers.optimizers import OptimizerFactory, make_optimizer_field
from d3rlpy.preprocessing import ActionScaler
from d3rlpy.types import Shape

from offline_iq.algos.expert_mixing import ExpertMixingAlgoBase
from offline_iq.algos.iq_config import IQLearnConfigBase
from offline_iq.algos.scaler_fields import min_max_action_field
from offline_iq.algos.torch.iq_impl import IQLearnImpl, IQLearnModules

__all__ = ["IQLearn", "IQLearnConfig"]


@dataclasses.dataclass()
class IQLearnConfig(IQLearnConfigBase):
    r"""Config of continuous IQ-Learn (inverse soft actor-critic, sec. 4.4).

    The critic maximises the IQ-Learn objective for the current policy (eq. 10),

    .. math::

        \mathcal{L}(\theta) = -\mathbb{E}_{\rho_E}\big[\phi\big(Q_\theta(s, a)
            - (1 - d)\gamma V^\pi(s')\big)\big]
            + \mathbb{E}_{\rho_E}\big[V^\pi(s) - (1 - d)\gamma V^\pi(s')\big],
        \qquad V^\pi(s) = \mathbb{E}_{a \sim \pi}[Q_\theta(s, a) - \alpha \log \pi(a|s)],

    and the squashed-Gaussian actor takes the SAC step
    :math:`\min_\pi \mathbb{E}_{s, a \sim \pi}[\alpha \log \pi(a|s) - Q(s, a)]` (Algorithm 1),
    plus by default a Q-filtered behaviour-cloning term on expert rows (``q_filter_bc_weight``).
    The temperature :math:`\alpha` is fixed unless ``temp_learning_rate > 0``. Actions are scaled
    to [-1, 1] from the action space's bounds (``MinMaxActionScaler``).

    References:
        * `Garg et al., IQ-Learn: Inverse soft-Q Learning for Imitation. NeurIPS 2021.
          <https://arxiv.org/abs/2106.12142>`_

    Args:
        actor_learning_rate: actor learning rate (the paper's MuJoCo runs use 3e-5; offline,
            with few demonstrations, the larger default learns faster: figures in
            ``results/``).
        critic_learning_rate: critic learning rate.
        temp_learning_rate: temperature learning rate; 0 keeps ``temperature`` fixed.
        target_entropy: the entropy :math:`\bar{\mathcal{H}}` a learned temperature steers the
            actor to, :math:`\min_\alpha \mathbb{E}[-\alpha(\log\pi(a|s) + \bar{\mathcal{H}})]`;
            ``None`` is SAC's :math:`-|\mathcal{A}|`. The soft value carries
            :math:`\alpha\mathcal{H}` per step, which is negative at a negative target: as
            :math:`\alpha` grows it becomes a cost of living that the implicit reward (of order
            1 under the chi2 penalty) has to outweigh; at 0 it vanishes on average.
        actor_optim_factory, critic_optim_factory, temp_optim_factory: optimizer factories.
        actor_encoder_factory, critic_encoder_factory: encoder factories (256x256 MLPs).
        q_func_factory: Q function factory.
        n_critics: critics in the ensemble (each trained on the IQ-Learn objective).
        n_value_samples: actions sampled per state to estimate :math:`V^\pi` (and used by the
            actor step).
        actor_q_reduction: how the actor reduces the critic ensemble: ``min`` or ``mean``.
        q_filter_bc_weight: weight of a Q-filtered behaviour-cloning term added to the actor's
            SAC loss (Nair et al., 2018): on expert rows where the critic rates the expert action
            above the actor's deterministic action, the squared error between the two. 0 is the
            paper's actor, which stalls where the critic has just pushed :math:`Q(s, \pi(s))`
            down (a near-deterministic actor sits at the bottom of that dip while the critic
            rates the expert action higher). Ignored with ``state_only`` (it needs the expert's
            actions). Offline MuJoCo and Pendulum figures with and without it: ``results/``.
        expert_bc_weight: weight of a behaviour-cloning term on every expert row, not filtered
            by the critic and not scaled by :math:`|Q|` (:func:`~offline_iq.algos.torch.
            continuous_iq_parts.expert_bc_loss`): its pull relative to the SAC term grows as the
            critic's values shrink. 0 (default) leaves it out. Ignored with ``state_only``.
        smoothness_weight: weight of the actor's spatial smoothness term (the squared-distance
            form of CAPS's, :func:`~offline_iq.algos.torch.continuous_iq_parts.
            policy_smoothness_loss`): the batch mean of the squared change of
            :math:`\tanh\mu` between each state of the batch, expert and policy rows alike, and
            that state moved by :math:`\mathcal{N}(0, \sigma^2 I)` in the scaler's units (raw
            units for a feature constant in the demonstrations, whose scale is 1, or without a
            scaler). 0 (default) leaves it out.
        smoothness_sigma: that :math:`\sigma`. The default 0.15 is one environment step: the
            median of :math:`\lVert s_{t+1} - s_t \rVert / \sqrt{d}` over the 25 episodes of
            ``hopper/expert-tuning-v0``, each standardised by its own statistics as the
            online scaler standardises its one demonstration (0.147; 0.14-0.15 per episode).
        policy_averaging: rate :math:`\beta` of an exponential moving average of the actor's
            weights, :math:`\bar\phi \leftarrow (1 - \beta) \bar\phi + \beta \phi` after
            every actor step; ``predict``, ``save_policy`` and evaluation then act with
            :math:`\pi_{\bar\phi}`, while exploration, :math:`V^\pi` and the actor loss keep the
            last iterate :math:`\pi_\phi`. IQ-Learn is a saddle-point problem in
            :math:`(Q, \pi)`, whose last iterate can circle the solution; the average does not
            take part in the game. ``0`` (default) acts with the last iterate.
    """

    # the paper's online settings (sec. 5.1, 7; MuJoCo actor learning rate 3e-5, its actor)
    # plus LS-IQ's absorbing state: IQ-Learn's rewards on policy rows are negative, so without
    # it the agent learns to end episodes early (results/online/)
    ONLINE_SETTINGS: ClassVar[Mapping[str, Any]] = {
        "value_objective": "value",
        "chi2_on_mixture": True,
        "use_target_network": True,
        "absorbing": True,
        "actor_learning_rate": 3e-5,
        "q_filter_bc_weight": 0.0,
    }

    batch_size: int = 256
    actor_learning_rate: float = 1e-3
    critic_learning_rate: float = 3e-4
    temp_learning_rate: float = 0.0
    target_entropy: float | None = None
    actor_optim_factory: OptimizerFactory = make_optimizer_field()
    critic_optim_factory: OptimizerFactory = make_optimizer_field()
    temp_optim_factory: OptimizerFactory = make_optimizer_field()
    actor_encoder_factory: EncoderFactory = make_encoder_field()
    critic_encoder_factory: EncoderFactory = make_encoder_field()
    q_func_factory: QFunctionFactory = make_q_func_field()
    n_critics: int = 2
    n_value_samples: int = 1
    use_target_network: bool = True
    actor_q_reduction: Literal["min", "mean"] = "min"
    q_filter_bc_weight: float = 1.0
    expert_bc_weight: float = 0.0
    smoothness_weight: float = 0.0
    smoothness_sigma: float = 0.15
    policy_averaging: float = 0.0
    action_scaler: ActionScaler | None = min_max_action_field()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.q_filter_bc_weight < 0:
            raise ValueError(f"q_filter_bc_weight must be >= 0, got {self.q_filter_bc_weight}")
        if self.expert_bc_weight < 0:
            raise ValueError(f"expert_bc_weight must be >= 0, got {self.expert_bc_weight}")
        if self.smoothness_weight < 0 or self.smoothness_sigma < 0:
            raise ValueError(
                "smoothness_weight and smoothness_sigma must be >= 0, got "
                f"{self.smoothness_weight} and {self.smoothness_sigma}"
            )
        if not 0.0 <= self.policy_averaging <= 1.0:
            raise ValueError(f"policy_averaging must be in [0, 1], got {self.policy_averaging}")
        if self.n_value_samples < 1:
            raise ValueError(f"n_value_samples must be >= 1, got {self.n_value_samples}")

    def create(self, device: DeviceArg = False, enable_ddp: bool = False) -> IQLearn:
        """Build an :class:`IQLearn` with this config on ``device``."""
        return IQLearn(self, device, enable_ddp)

    @staticmethod
    def get_type() -> str:
        """Return the registered algorithm name used by ``d3rlpy.load_learnable``."""
        return "iq_learn"


class IQLearn(ExpertMixingAlgoBase[IQLearnImpl, IQLearnConfig]):
    """Continuous IQ-Learn; see :class:`IQLearnConfig`."""

    def inner_create_impl(self, observation_shape: Shape, action_size: int) -> None:
        """Build the Gaussian policy, Q ensemble and target, temperature, optimizers and impl."""
        cfg = self._config
        policy = create_normal_policy(
            observation_shape,
            action_size,
            cfg.actor_encoder_factory,
            device=self._device,
            enable_ddp=self._enable_ddp,
        )
        critics = [
            create_continuous_q_function(
                observation_shape,
                action_size,
                cfg.critic_encoder_factory,
                cfg.q_func_factory,
                n_ensembles=cfg.n_critics,
                device=self._device,
                enable_ddp=self._enable_ddp,
            )
            for _ in range(2)
        ]
        (q_funcs, forwarder), (targ_q_funcs, targ_forwarder) = critics
        log_temp = create_parameter(
            (1, 1), math.log(cfg.temperature), device=self._device, enable_ddp=self._enable_ddp
        )
        temp_optim = None
        if cfg.temp_learning_rate > 0:
            temp_optim = cfg.temp_optim_factory.create(
                log_temp.named_modules(), lr=cfg.temp_learning_rate, compiled=self.compiled
            )
        averaged_policy = None
        if cfg.policy_averaging > 0:
            averaged_policy = copy.deepcopy(policy)
            averaged_policy.requires_grad_(False)
        modules = IQLearnModules(
            policy=policy,
            averaged_policy=averaged_policy,
            q_funcs=q_funcs,
            targ_q_funcs=targ_q_funcs,
            log_temp=log_temp,
            actor_optim=cfg.actor_optim_factory.create(
                policy.named_modules(), lr=cfg.actor_learning_rate, compiled=self.compiled
            ),
            critic_optim=cfg.critic_optim_factory.create(
                q_funcs.named_modules(), lr=cfg.critic_learning_rate, compiled=self.compiled
            ),
            temp_optim=temp_optim,
        )
        self._impl = IQLearnImpl(
            observation_shape=observation_shape,
            action_size=action_size,
            modules=modules,
            q_func_forwarder=forwarder,
            targ_q_func_forwarder=targ_forwarder,
            objective=cfg.objective(),
            use_target_network=cfg.use_target_network,
            tau=cfg.tau,
            n_value_samples=cfg.n_value_samples,
            actor_q_reduction=cfg.actor_q_reduction,
            # state-only imitation never sees expert actions, so nothing to clone
            q_filter_bc_weight=0.0 if cfg.state_only else cfg.q_filter_bc_weight,
            expert_bc_weight=0.0 if cfg.state_only else cfg.expert_bc_weight,
            smoothness_weight=cfg.smoothness_weight,
            smoothness_sigma=cfg.smoothness_sigma,
            policy_averaging=cfg.policy_averaging,
            target_entropy=cfg.target_entropy,
            device=self._device,
        )

    @property
    def needs_initial_observations(self) -> bool:
        """Whether ``update`` must attach initial states (only the ``v0`` objective)."""
        return self._config.value_objective == "v0"

    def get_action_type(self) -> ActionSpace:
        """Return ``ActionSpace.CONTINUOUS``."""
        return ActionSpace.CONTINUOUS


register_learnable(IQLearnConfig)
