"""ValueDICE (offline form) as d3rlpy algorithms, for continuous and discrete actions."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

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
from d3rlpy.optimizers.optimizers import OptimizerFactory, make_optimizer_field
from d3rlpy.preprocessing import ActionScaler, ObservationScaler
from d3rlpy.types import Shape

from offline_iq.algos.expert_mixing import ExpertMixingAlgoBase
from offline_iq.algos.scaler_fields import min_max_action_field, standard_scaler_field
from offline_iq.algos.torch.valuedice_impl import (
    ContinuousValueDICEImpl,
    DiscreteValueDICEImpl,
    ValueDICEModules,
    ValueDICEParams,
)

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
        entropy_weight: optional entropy bonus for the policy (0 in the paper).
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
    initial_states: str = "expert_states"
    observation_scaler: ObservationScaler | None = standard_scaler_field()

    def __post_init__(self) -> None:
        if self.initial_states not in ("expert_states", "episode_starts"):
            raise ValueError(
                f"initial_states must be 'expert_states' or 'episode_starts', "
                f"got {self.initial_states!r}"
            )
        if not 0.0 <= self.replay_regularization < 1.0:
            raise ValueError("replay_regularization must be in [0, 1)")

    def params(self) -> ValueDICEParams:
        """Return the loss hyperparameters the torch impl needs."""
        return ValueDICEParams(
            gamma=self.gamma,
            replay_regularization=self.replay_regularization,
            gp_weight=self.gp_weight,
            entropy_weight=self.entropy_weight,
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


class _ValueDICEAlgoBase(ExpertMixingAlgoBase[Any, Any]):
    """What both ValueDICE algorithms share; subclasses name their builders and impl."""

    _build_policy: Callable[..., Any]
    _build_nu: Callable[..., Any]
    _impl_class: type[Any]
    _action_type: ActionSpace

    def inner_create_impl(self, observation_shape: Shape, action_size: int) -> None:
        r"""Build the policy, the :math:`\nu` network, their optimizers and the torch impl."""
        cfg = self._config
        device = {"device": self._device, "enable_ddp": self._enable_ddp}
        policy = self._build_policy(
            observation_shape, action_size, cfg.actor_encoder_factory, **device
        )
        nu, forwarder = self._build_nu(
            observation_shape,
            action_size,
            cfg.nu_encoder_factory,
            cfg.q_func_factory,
            n_ensembles=1,
            **device,
        )
        self._impl = self._impl_class(
            observation_shape=observation_shape,
            action_size=action_size,
            modules=_modules(cfg, policy, nu),
            q_func_forwarder=forwarder,
            params=cfg.params(),
            device=self._device,
        )

    @property
    def needs_initial_observations(self) -> bool:
        """Whether ``update`` must attach true initial states (``episode_starts``)."""
        return bool(self._config.initial_states == "episode_starts")

    def get_action_type(self) -> ActionSpace:
        """Return the subclass's action space (continuous or discrete)."""
        return self._action_type


class ValueDICE(_ValueDICEAlgoBase):
    """Continuous ValueDICE; see :class:`ValueDICEConfig`."""

    _build_policy = staticmethod(create_normal_policy)
    _build_nu = staticmethod(create_continuous_q_function)
    _impl_class = ContinuousValueDICEImpl
    _action_type = ActionSpace.CONTINUOUS


class DiscreteValueDICE(_ValueDICEAlgoBase):
    """Discrete ValueDICE; see :class:`DiscreteValueDICEConfig`."""

    _build_policy = staticmethod(create_categorical_policy)
    _build_nu = staticmethod(create_discrete_q_function)
    _impl_class = DiscreteValueDICEImpl
    _action_type = ActionSpace.DISCRETE


def _modules(cfg: _ValueDICEConfigBase, policy: object, nu: object) -> ValueDICEModules:
    return ValueDICEModules(
        policy=policy,  # type: ignore[arg-type]
        q_funcs=nu,  # type: ignore[arg-type]
        actor_optim=cfg.actor_optim_factory.create(
            policy.named_modules(),  # type: ignore[attr-defined]
            lr=cfg.actor_learning_rate,
            compiled=False,
        ),
        nu_optim=cfg.nu_optim_factory.create(
            nu.named_modules(),  # type: ignore[attr-defined]
            lr=cfg.nu_learning_rate,
            compiled=False,
        ),
    )


register_learnable(ValueDICEConfig)
register_learnable(DiscreteValueDICEConfig)
