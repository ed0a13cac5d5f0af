"""ValueDICE (offline form) as d3rlpy algorithms, for continuous and discrete actions."""

from __future__ import annotations

import dataclasses
from typing import Literal

from d3rlpy.base import DeviceArg, LearnableConfig, register_learnable
from d3rlpy.constants import ActionSpace
from d3rlpy.models.builders import (
    create_categorical_policy,
    create_continuous_q_function,
    create_discrete_q_function,
    create_normal_policy,
)
from d3rlpy.models.encoders import EncoderFactory, make_encoder_field
from d3rlpy.models.q_functions import QFunctionFactory, make_q_func_field
from d3rlpy.optimizers import OptimizerWrapper
from d3rlpy.optimizers.optimizers import OptimizerFactory, make_optimizer_field
from d3rlpy.preprocessing import ActionScaler, ObservationScaler
from d3rlpy.types import Shape
from torch import nn

from offline_iq.algos.expert_mixing import ExpertMixingAlgoBase
from offline_iq.algos.scaler_fields import min_max_action_field, standard_scaler_field
from offline_iq.algos.torch.valuedice_impl import (
    ContinuousValueDICEImpl,
    ContinuousValueDICEModules,
    DiscreteValueDICEImpl,
    DiscreteValueDICEModules,
    ValueDICEParams,
)
from offline_iq.validation import check_field_types

__all__ = ["DiscreteValueDICE", "DiscreteValueDICEConfig", "ValueDICE", "ValueDICEConfig"]


@dataclasses.dataclass()
class _ValueDICEConfigBase(LearnableConfig):
    r"""Config of ValueDICE (Kostrikov, Nachum, Tompson, ICLR 2020).

    ValueDICE minimises :math:`\mathrm{KL}(d^\pi \| d^E)` through its Donsker-Varadhan form,
    rewritten with :math:`x = \nu - \mathcal{B}^\pi\nu` so that only expert transitions and
    policy actions are needed (see :mod:`offline_iq.algos.valuedice_loss`):

    .. math::

        \max_\pi \min_\nu\; \log \mathbb{E}_{d^E}\big[e^{\nu(s, a) - \gamma \nu(s', \pi(s'))}\big]
            - (1 - \gamma)\,\mathbb{E}_{p_0}[\nu(s_0, \pi(s_0))]
            + \lambda\,\mathbb{E}\big[(\lVert\nabla \nu(\hat x)\rVert - 1)^2\big].

    The policy is trained adversarially against :math:`\nu`; the gradient penalty on expert /
    policy interpolates is the paper's. Offline, all rows are expert; online (``fit_online`` with
    demonstrations attached) replay rows enter with weight ``replay_regularization``.

    References:
        * `Kostrikov et al., Imitation Learning via Off-Policy Distribution Matching. ICLR 2020.
          <https://arxiv.org/abs/1912.05032>`_

    Args:
        actor_learning_rate: policy learning rate.
        nu_learning_rate: :math:`\nu` learning rate.
        gp_weight: weight :math:`\lambda` of the gradient penalty (paper: 10).
        replay_regularization: :math:`\alpha` of the replay mixture (online only; paper: 0.1).
        entropy_weight: weight :math:`w` of an optional entropy bonus: the policy maximises
            :math:`J + w\,H(\pi)` (0 in the paper).
        orthogonal_regularization: coefficient :math:`c` of the off-diagonal orthogonal penalty
            (Brock et al. 2019) on the policy's weight matrices, which the policy's loss adds as
            :math:`c \sum_W \lVert W^\top W \odot (\mathbf{1} - I)\rVert_F^2`, a layer's units
            the columns of :math:`W` (see
            :func:`offline_iq.algos.penalties.orthogonal_regularization`); the default is the
            paper's :math:`10^{-4}`, 0 turns it off.
        initial_states: ``"expert_states"`` (every expert state stands in for :math:`s_0`, as
            ValueDICE's implementation does) or ``"episode_starts"`` (true initial states).
        observation_scaler: standardisation fitted on the data by default.
    """

    batch_size: int = 256
    gamma: float = 0.99
    actor_learning_rate: float = 1e-5
    nu_learning_rate: float = 1e-3
    actor_optim_factory: OptimizerFactory = make_optimizer_field()
    nu_optim_factory: OptimizerFactory = make_optimizer_field()
    actor_encoder_factory: EncoderFactory = make_encoder_field()
    nu_encoder_factory: EncoderFactory = make_encoder_field()
    q_func_factory: QFunctionFactory = make_q_func_field()
    gp_weight: float = 10.0
    replay_regularization: float = 0.1
    entropy_weight: float = 0.0
    orthogonal_regularization: float = 1e-4
    initial_states: Literal["expert_states", "episode_starts"] = "expert_states"
    observation_scaler: ObservationScaler | None = standard_scaler_field()

    def __post_init__(self) -> None:
        check_field_types(self)
        if not 0.0 <= self.replay_regularization < 1.0:
            raise ValueError("replay_regularization must be in [0, 1)")
        if self.orthogonal_regularization < 0.0:
            raise ValueError(
                f"orthogonal_regularization must be >= 0, got {self.orthogonal_regularization}"
            )

    def params(self) -> ValueDICEParams:
        """Return the loss hyperparameters the torch impl needs."""
        return ValueDICEParams(
            gamma=self.gamma,
            replay_regularization=self.replay_regularization,
            gp_weight=self.gp_weight,
            entropy_weight=self.entropy_weight,
            orthogonal_regularization=self.orthogonal_regularization,
        )


@dataclasses.dataclass()
class ValueDICEConfig(_ValueDICEConfigBase):
    __doc__ = _ValueDICEConfigBase.__doc__  # continuous actions, squashed-Gaussian policy

    action_scaler: ActionScaler | None = min_max_action_field()

    def create(self, device: DeviceArg = False, enable_ddp: bool = False) -> ValueDICE:
        """Build a :class:`ValueDICE` with this config on ``device``."""
        return ValueDICE(self, device, enable_ddp)

    @staticmethod
    def get_type() -> str:
        """Return the registered algorithm name used by ``d3rlpy.load_learnable``."""
        return "value_dice"


@dataclasses.dataclass()
class DiscreteValueDICEConfig(_ValueDICEConfigBase):
    __doc__ = _ValueDICEConfigBase.__doc__  # discrete actions, categorical policy

    actor_learning_rate: float = 1e-4

    def create(self, device: DeviceArg = False, enable_ddp: bool = False) -> DiscreteValueDICE:
        """Build a :class:`DiscreteValueDICE` with this config on ``device``."""
        return DiscreteValueDICE(self, device, enable_ddp)

    @staticmethod
    def get_type() -> str:
        """Return the registered algorithm name used by ``d3rlpy.load_learnable``."""
        return "discrete_value_dice"


class ValueDICE(ExpertMixingAlgoBase[ContinuousValueDICEImpl, ValueDICEConfig]):
    """Continuous ValueDICE; see :class:`ValueDICEConfig`."""

    def inner_create_impl(self, observation_shape: Shape, action_size: int) -> None:
        r"""Build the squashed-Gaussian policy, :math:`\nu(s, a)`, their optimizers, the impl."""
        cfg = self._config
        policy = create_normal_policy(
            observation_shape,
            action_size,
            cfg.actor_encoder_factory,
            device=self._device,
            enable_ddp=self._enable_ddp,
        )
        nu, forwarder = create_continuous_q_function(
            observation_shape,
            action_size,
            cfg.nu_encoder_factory,
            cfg.q_func_factory,
            n_ensembles=1,
            device=self._device,
            enable_ddp=self._enable_ddp,
        )
        actor_optim, nu_optim = _create_optimizers(cfg, policy, nu, compiled=self.compiled)
        self._impl = ContinuousValueDICEImpl(
            observation_shape=observation_shape,
            action_size=action_size,
            modules=ContinuousValueDICEModules(
                policy=policy, q_funcs=nu, actor_optim=actor_optim, nu_optim=nu_optim
            ),
            q_func_forwarder=forwarder,
            params=cfg.params(),
            device=self._device,
        )

    @property
    def needs_initial_observations(self) -> bool:
        """Whether ``update`` must attach true initial states (``episode_starts``)."""
        return _uses_episode_starts(self._config)

    def get_action_type(self) -> ActionSpace:
        """Return :attr:`ActionSpace.CONTINUOUS`."""
        return ActionSpace.CONTINUOUS


class DiscreteValueDICE(ExpertMixingAlgoBase[DiscreteValueDICEImpl, DiscreteValueDICEConfig]):
    """Discrete ValueDICE; see :class:`DiscreteValueDICEConfig`."""

    def inner_create_impl(self, observation_shape: Shape, action_size: int) -> None:
        r"""Build the categorical policy, :math:`\nu(s, \cdot)`, their optimizers, the impl."""
        cfg = self._config
        policy = create_categorical_policy(
            observation_shape,
            action_size,
            cfg.actor_encoder_factory,
            device=self._device,
            enable_ddp=self._enable_ddp,
        )
        nu, forwarder = create_discrete_q_function(
            observation_shape,
            action_size,
            cfg.nu_encoder_factory,
            cfg.q_func_factory,
            n_ensembles=1,
            device=self._device,
            enable_ddp=self._enable_ddp,
        )
        actor_optim, nu_optim = _create_optimizers(cfg, policy, nu, compiled=self.compiled)
        self._impl = DiscreteValueDICEImpl(
            observation_shape=observation_shape,
            action_size=action_size,
            modules=DiscreteValueDICEModules(
                policy=policy, q_funcs=nu, actor_optim=actor_optim, nu_optim=nu_optim
            ),
            q_func_forwarder=forwarder,
            params=cfg.params(),
            device=self._device,
        )

    @property
    def needs_initial_observations(self) -> bool:
        """Whether ``update`` must attach true initial states (``episode_starts``)."""
        return _uses_episode_starts(self._config)

    def get_action_type(self) -> ActionSpace:
        """Return :attr:`ActionSpace.DISCRETE`."""
        return ActionSpace.DISCRETE


def _uses_episode_starts(cfg: _ValueDICEConfigBase) -> bool:
    return cfg.initial_states == "episode_starts"


def _create_optimizers(
    cfg: _ValueDICEConfigBase, policy: nn.Module, nu: nn.ModuleList, *, compiled: bool
) -> tuple[OptimizerWrapper, OptimizerWrapper]:
    r"""The policy's and :math:`\nu`'s optimizers, with the config's factories and rates."""
    actor_optim = cfg.actor_optim_factory.create(
        policy.named_modules(), lr=cfg.actor_learning_rate, compiled=compiled
    )
    nu_optim = cfg.nu_optim_factory.create(
        nu.named_modules(), lr=cfg.nu_learning_rate, compiled=compiled
    )
    return actor_optim, nu_optim


register_learnable(ValueDICEConfig)
register_learnable(DiscreteValueDICEConfig)
