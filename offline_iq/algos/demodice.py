"""DemoDICE (offline imitation with supplementary imperfect data) as d3rlpy algorithms."""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any, Generic, TypeVar

import numpy as np
from d3rlpy.base import DeviceArg, LearnableConfig, register_learnable
from d3rlpy.constants import ActionSpace
from d3rlpy.dataset import ReplayBufferBase, TransitionMiniBatch
from d3rlpy.models.builders import (
    create_categorical_policy,
    create_normal_policy,
    create_value_function,
)
from d3rlpy.models.encoders import EncoderFactory, make_encoder_field
from d3rlpy.models.torch import ValueFunction
from d3rlpy.optimizers import OptimizerWrapper
from d3rlpy.optimizers.optimizers import OptimizerFactory, make_optimizer_field
from d3rlpy.preprocessing import ActionScaler, ObservationScaler
from d3rlpy.types import Shape
from torch import nn

from offline_iq.algos.expert_mixing import ExpertMixingAlgoBase
from offline_iq.algos.scaler_fields import min_max_action_field, standard_scaler_field
from offline_iq.algos.torch.demodice_impl import (
    ContinuousDemoDICEImpl,
    ContinuousDemoDICEModules,
    DemoDICEImplBase,
    DemoDICEParams,
    DiscreteDemoDICEImpl,
    DiscreteDemoDICEModules,
    Discriminator,
    create_discriminator,
)
from offline_iq.data.mixing import ExpertMixingReplayBuffer, initial_observations
from offline_iq.preprocessing import fit_action_scaler
from offline_iq.validation import check_field_types

__all__ = [
    "DemoDICE",
    "DemoDICEConfig",
    "DiscreteDemoDICE",
    "DiscreteDemoDICEConfig",
    "expert_share",
]

# lower bound of the squashed Gaussian's log-std (d3rlpy's default is -20): weighted maximum
# likelihood on a finite dataset would otherwise shrink the std without bound
MIN_LOGSTD = -5.0


@dataclasses.dataclass()
class _DemoDICEConfigBase(LearnableConfig):
    r"""Config of DemoDICE (Kim, Seo, Lee, Yang, Kim, Lee, Kim, ICLR 2022).

    DemoDICE imitates the expert data :math:`D_E` using also imperfect (logged) data
    :math:`D_O`: it finds the stationary distribution closest to the expert's,
    :math:`\mathrm{KL}(d^\pi \| d^E) + \alpha\,\mathrm{KL}(d^\pi \| d^U)` with :math:`d^U` the
    union :math:`D_E \cup D_O`, through three learned functions (see
    :mod:`offline_iq.algos.demodice_loss`): a discriminator whose logit
    :math:`R \approx \log d^E / d^U` is the reward, a state value :math:`\nu(s)` minimising the
    closed-form dual :math:`(1 - \gamma)\mathbb{E}_{p_0}[\nu]
    + (1 + \alpha)\log\mathbb{E}_{d^U}[e^{A_\nu / (1 + \alpha)}]`, and a policy trained by
    behaviour cloning on the union weighted by :math:`e^{A_\nu / (1 + \alpha)}`
    (self-normalised, clipped at ``max_weight``).

    Use: ``attach_demonstrations(expert)`` then ``fit_mixed(logged)``. Each batch is then
    ``batch_size`` logged rows and ``batch_size`` expert rows; union expectations weight them
    by :math:`p_E = |D_E| / (|D_E| + |D_O|)` (transition counts, fixed when the fit starts) and
    :math:`1 - p_E`, and :math:`p_0` is the initial states of both datasets' episodes. Plain
    ``fit(expert)`` also works: the union is then the expert data, the discriminator cannot
    tell the two apart (:math:`R \approx 0`) and the policy is close to behaviour cloning.
    DemoDICE learns offline only (``fit_online`` raises). ``predict_value(x, a)`` returns the
    learned reward :math:`R(s, a)` (there is no Q-function).

    References:
        * `Kim et al., DemoDICE: Offline Imitation Learning with Supplementary Imperfect
          Demonstrations. ICLR 2022. <https://openreview.net/forum?id=BrPdX1bDZkQ>`_

    Args:
        batch_size: rows of each dataset per batch (``fit_mixed`` draws twice as many).
        gamma: discount factor.
        alpha: weight :math:`\alpha > 0` of :math:`\mathrm{KL}(d^\pi \| d^U)` (paper: 0.05).
        actor_learning_rate: policy learning rate.
        nu_learning_rate: :math:`\nu` learning rate.
        disc_learning_rate: discriminator learning rate.
        disc_gp_weight: weight of the discriminator's gradient penalty on interpolates of
            expert and union state-action pairs (target norm 1; paper: 10).
        nu_gp_weight: weight of :math:`\nu`'s gradient penalty on interpolates of union states
            :math:`s` with their next states :math:`s'` and with initial states (target norm
            1; 0 turns it off). Where next states are rarely some row's :math:`s` (sub-sampled
            demonstrations), :math:`L(\nu)` is unbounded below (:math:`\nu(s') \to -\infty`)
            and only this penalty holds :math:`\nu`; the default is too weak for that.
        max_weight: the policy's self-normalised weights are clipped at this value.
        observation_scaler: standardisation fitted on the expert data by default.
    """

    batch_size: int = 256
    gamma: float = 0.99
    alpha: float = 0.05
    actor_learning_rate: float = 3e-4
    nu_learning_rate: float = 3e-4
    disc_learning_rate: float = 3e-4
    actor_optim_factory: OptimizerFactory = make_optimizer_field()
    nu_optim_factory: OptimizerFactory = make_optimizer_field()
    disc_optim_factory: OptimizerFactory = make_optimizer_field()
    actor_encoder_factory: EncoderFactory = make_encoder_field()
    nu_encoder_factory: EncoderFactory = make_encoder_field()
    disc_encoder_factory: EncoderFactory = make_encoder_field()
    disc_gp_weight: float = 10.0
    nu_gp_weight: float = 1e-4
    max_weight: float = 100.0
    observation_scaler: ObservationScaler | None = standard_scaler_field()

    def __post_init__(self) -> None:
        check_field_types(self)
        if self.alpha <= 0.0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if not 0.0 <= self.gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1), got {self.gamma}")
        for name in ("disc_gp_weight", "nu_gp_weight"):
            if getattr(self, name) < 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.max_weight <= 0.0:
            raise ValueError(f"max_weight must be > 0, got {self.max_weight}")

    def params(self) -> DemoDICEParams:
        """Return the loss hyperparameters the torch impl needs."""
        return DemoDICEParams(
            gamma=self.gamma,
            alpha=self.alpha,
            disc_gp_weight=self.disc_gp_weight,
            nu_gp_weight=self.nu_gp_weight,
            max_weight=self.max_weight,
        )


@dataclasses.dataclass()
class DemoDICEConfig(_DemoDICEConfigBase):
    __doc__ = _DemoDICEConfigBase.__doc__  # continuous actions, squashed-Gaussian policy

    action_scaler: ActionScaler | None = min_max_action_field()

    def create(self, device: DeviceArg = False, enable_ddp: bool = False) -> DemoDICE:
        """Build a :class:`DemoDICE` with this config on ``device``."""
        return DemoDICE(self, device, enable_ddp)

    @staticmethod
    def get_type() -> str:
        """Return the registered algorithm name used by ``d3rlpy.load_learnable``."""
        return "demodice"


@dataclasses.dataclass()
class DiscreteDemoDICEConfig(_DemoDICEConfigBase):
    __doc__ = _DemoDICEConfigBase.__doc__  # discrete actions, categorical policy

    def create(self, device: DeviceArg = False, enable_ddp: bool = False) -> DiscreteDemoDICE:
        """Build a :class:`DiscreteDemoDICE` with this config on ``device``."""
        return DiscreteDemoDICE(self, device, enable_ddp)

    @staticmethod
    def get_type() -> str:
        """Return the registered algorithm name used by ``d3rlpy.load_learnable``."""
        return "discrete_demodice"


def expert_share(dataset: ReplayBufferBase) -> float:
    r""":math:`p_E = |D_E| / (|D_E| + |D_O|)` in transitions for a mixed dataset (expert and
    logged rows), 1 for a plain one (all of it expert)."""
    if not isinstance(dataset, ExpertMixingReplayBuffer):
        return 1.0
    n_expert, n_logged = dataset.expert.transition_count, dataset.policy.transition_count
    return n_expert / (n_expert + n_logged)


TImpl = TypeVar("TImpl", bound=DemoDICEImplBase)
TConfig = TypeVar("TConfig", bound=_DemoDICEConfigBase)


class _DemoDICEBase(ExpertMixingAlgoBase[TImpl, TConfig], Generic[TImpl, TConfig]):
    """What both action spaces share: :math:`p_E`, the union's initial states, no online."""

    _expert_share: float = 1.0

    @property
    def expert_share(self) -> float:
        r""":math:`p_E` of the last (or current) fit: 1 after ``fit``, the expert share of the
        transitions after ``fit_mixed``."""
        return self._expert_share

    @property
    def needs_initial_observations(self) -> bool:
        r"""Always: :math:`L(\nu)` reads :math:`\nu` at true initial states."""
        return True

    def fitter(
        self, dataset: ReplayBufferBase, *args: Any, **kwargs: Any
    ) -> Generator[tuple[int, dict[str, float]], None, None]:
        """d3rlpy's offline loop, after fixing :math:`p_E` from the transition counts (and,
        for a mixed dataset, fitting a min-max action scaler on its expert data)."""
        if isinstance(dataset, ExpertMixingReplayBuffer):
            fit_action_scaler(self._config.action_scaler, dataset.expert)
        self._expert_share = expert_share(dataset)
        yield from super().fitter(dataset, *args, **kwargs)

    def update(self, batch: TransitionMiniBatch) -> dict[str, float]:
        r"""One DemoDICE step (discriminator, :math:`\nu`, policy) on ``batch``."""
        assert self._impl is not None, "call build_with_dataset or fit first"
        self._impl.expert_share = self._expert_share
        return super().update(batch)

    def fit_online(self, env: Any, buffer: ReplayBufferBase | None = None, **kwargs: Any) -> None:
        """Not supported: DemoDICE learns offline (``fit`` or ``fit_mixed``)."""
        raise NotImplementedError(
            "DemoDICE learns offline: fit(expert), or attach_demonstrations(expert) then "
            "fit_mixed(logged)"
        )

    def _initial_observations_of(self, dataset: ReplayBufferBase) -> np.ndarray:
        """Initial states of every episode of the union (of both datasets when mixed)."""
        if isinstance(dataset, ExpertMixingReplayBuffer):
            return np.concatenate(
                [initial_observations(dataset.expert), initial_observations(dataset.policy)]
            )
        return initial_observations(dataset)

    _impl_class: Any
    _modules_class: Any

    def _create_policy(self, observation_shape: Shape, action_size: int) -> nn.Module:
        raise NotImplementedError

    def inner_create_impl(self, observation_shape: Shape, action_size: int) -> None:
        r"""Build the policy (:meth:`_create_policy`), :math:`\nu(s)`, the discriminator and
        the impl."""
        policy = self._create_policy(observation_shape, action_size)
        nu, disc, (actor_optim, nu_optim, disc_optim) = self._create_critics(
            observation_shape, action_size, policy
        )
        self._impl = self._impl_class(
            observation_shape=observation_shape,
            action_size=action_size,
            modules=self._modules_class(
                policy=policy,
                nu=nu,
                discriminator=disc,
                actor_optim=actor_optim,
                nu_optim=nu_optim,
                disc_optim=disc_optim,
            ),
            params=self._config.params(),
            device=self._device,
        )

    def _create_critics(
        self, observation_shape: Shape, action_size: int, policy: nn.Module
    ) -> tuple[ValueFunction, Discriminator, tuple[OptimizerWrapper, ...]]:
        r""":math:`\nu(s)`, the discriminator (on one-hot actions when discrete) and the three
        optimizers (policy, :math:`\nu`, discriminator)."""
        cfg = self._config
        nu = create_value_function(
            observation_shape,
            cfg.nu_encoder_factory,
            device=self._device,
            enable_ddp=self._enable_ddp,
        )
        disc = create_discriminator(
            observation_shape, action_size, cfg.disc_encoder_factory, self._device
        )
        optims = tuple(
            factory.create(module.named_modules(), lr=lr, compiled=self.compiled)
            for factory, module, lr in (
                (cfg.actor_optim_factory, policy, cfg.actor_learning_rate),
                (cfg.nu_optim_factory, nu, cfg.nu_learning_rate),
                (cfg.disc_optim_factory, disc, cfg.disc_learning_rate),
            )
        )
        return nu, disc, optims


class DemoDICE(_DemoDICEBase[ContinuousDemoDICEImpl, DemoDICEConfig]):
    """Continuous DemoDICE; see :class:`DemoDICEConfig`."""

    _impl_class = ContinuousDemoDICEImpl
    _modules_class = ContinuousDemoDICEModules

    def _create_policy(self, observation_shape: Shape, action_size: int) -> nn.Module:
        """The squashed-Gaussian policy."""
        return create_normal_policy(
            observation_shape,
            action_size,
            self._config.actor_encoder_factory,
            device=self._device,
            enable_ddp=self._enable_ddp,
            min_logstd=MIN_LOGSTD,
        )

    def get_action_type(self) -> ActionSpace:
        """Return :attr:`ActionSpace.CONTINUOUS`."""
        return ActionSpace.CONTINUOUS


class DiscreteDemoDICE(_DemoDICEBase[DiscreteDemoDICEImpl, DiscreteDemoDICEConfig]):
    """Discrete DemoDICE; see :class:`DiscreteDemoDICEConfig`."""

    _impl_class = DiscreteDemoDICEImpl
    _modules_class = DiscreteDemoDICEModules

    def _create_policy(self, observation_shape: Shape, action_size: int) -> nn.Module:
        """The categorical policy."""
        return create_categorical_policy(
            observation_shape,
            action_size,
            self._config.actor_encoder_factory,
            device=self._device,
            enable_ddp=self._enable_ddp,
        )

    def get_action_type(self) -> ActionSpace:
        """Return :attr:`ActionSpace.DISCRETE`."""
        return ActionSpace.DISCRETE


register_learnable(DemoDICEConfig)
register_learnable(DiscreteDemoDICEConfig)
