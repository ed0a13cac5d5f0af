"""IQ-Learn's options as one typed object, shared by the discrete and continuous learners.

:class:`IQLearnConfigBase` holds the objective fields every IQ-Learn config has;
:class:`IQObjective` is the frozen, config-free view the torch impls receive (no config object
ever enters the maths).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import torch
from d3rlpy.base import LearnableConfig
from d3rlpy.preprocessing import ObservationScaler

from offline_iq.algos.divergences import DIVERGENCES, Divergence
from offline_iq.algos.iq_loss import VALUE_OBJECTIVES, IQLoss, ValueObjective, iq_loss
from offline_iq.algos.scaler_fields import standard_scaler_field

__all__ = ["IQLearnConfigBase", "IQObjective"]


@dataclasses.dataclass(frozen=True)
class IQObjective:
    """Everything the IQ-Learn critic loss needs besides network outputs."""

    gamma: float
    divergence: Divergence
    value_objective: ValueObjective
    chi2_alpha: float
    chi2_on_mixture: bool
    tv_bound: float
    gp_weight: float
    lipschitz: float
    gradient_penalty: bool
    bounded_targets: bool
    absorbing: bool
    state_only: bool

    @property
    def uses_gradient_penalty(self) -> bool:
        """W1 always has the Lipschitz penalty; other divergences when asked (paper fn. 6)."""
        return self.divergence == "w1" or self.gradient_penalty

    def reward_bound(self) -> float:
        r"""Largest reward the regulariser allows: :math:`2\alpha` for :math:`\chi^2`, R for TV."""
        if self.divergence == "chi2":
            return 2.0 * self.chi2_alpha
        if self.divergence == "tv":
            return self.tv_bound
        raise ValueError(
            f"bounded_targets and absorbing need chi2 or tv rewards, not {self.divergence}"
        )

    def prepare_next_v(
        self, next_v: torch.Tensor, terminals: torch.Tensor, is_expert: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Apply LS-IQ-style options to :math:`V(s')` and the termination mask.

        * ``bounded_targets``: clip :math:`V(s')` to :math:`\pm R / (1 - \gamma)`, the value range
          of rewards bounded by :math:`R` (:meth:`reward_bound`).
        * ``absorbing``: a termination leads to an absorbing state of value
          :math:`\pm R / (1 - \gamma)` (+ on expert rows, - on policy rows) instead of 0, so the
          bootstrap is never cut.
        """
        if not (self.bounded_targets or self.absorbing):
            return next_v, terminals
        limit = self.reward_bound() / (1.0 - self.gamma)
        if self.bounded_targets:
            next_v = next_v.clamp(-limit, limit)
        if self.absorbing:
            sign = is_expert.reshape(-1, 1).to(next_v.dtype) * 2.0 - 1.0
            next_v = torch.where(terminals > 0.5, sign * limit, next_v)
            terminals = torch.zeros_like(terminals)
        return next_v, terminals

    def loss(
        self,
        *,
        q: torch.Tensor,
        v: torch.Tensor,
        next_v: torch.Tensor,
        terminals: torch.Tensor,
        is_expert: torch.Tensor,
        initial_v: torch.Tensor | None = None,
        gradient_penalty: torch.Tensor | None = None,
        q_weights: torch.Tensor | None = None,
    ) -> IQLoss:
        """:func:`~offline_iq.algos.iq_loss.iq_loss` with these options."""
        next_v, terminals = self.prepare_next_v(next_v, terminals, is_expert)
        return iq_loss(
            q=q,
            v=v,
            next_v=next_v,
            terminals=terminals,
            is_expert=is_expert,
            gamma=self.gamma,
            divergence=self.divergence,
            value_objective=self.value_objective,
            initial_v=initial_v,
            chi2_alpha=self.chi2_alpha,
            chi2_on_mixture=self.chi2_on_mixture,
            tv_bound=self.tv_bound,
            gradient_penalty=gradient_penalty,
            gp_weight=self.gp_weight,
            q_weights=q_weights,
        )


@dataclasses.dataclass()
class IQLearnConfigBase(LearnableConfig):
    """Objective fields shared by :class:`DiscreteIQLearnConfig` and :class:`IQLearnConfig`.

    Args:
        divergence: ``chi2`` (default), ``tv``, ``w1``, ``kl``, ``js`` or ``hellinger``.
        value_objective: ``value_expert`` (offline default), ``value`` or ``v0``.
        chi2_alpha: :math:`\\alpha` of the :math:`\\chi^2` regulariser :math:`r^2 / (4\\alpha)`.
        chi2_on_mixture: apply the :math:`\\chi^2` penalty on expert and policy rows.
        tv_bound: reward bound of ``tv``.
        gp_weight: weight of the ``w1`` gradient penalty.
        lipschitz: Lipschitz constant :math:`K` targeted by the ``w1`` gradient penalty.
        gradient_penalty: add that penalty to any divergence, e.g. chi2 + W1 (the paper's
            footnote 6: "χ2 and W1 can be used together ... and is more stable").
        use_target_network: bootstrap :math:`V(s')` from a Polyak-averaged target network.
        tau: soft-update rate of the target network.
        bounded_targets: clip :math:`V(s')` to the range the reward bound implies (LS-IQ).
        absorbing: bootstrap terminations from an absorbing state (LS-IQ). On policy rows it
            acts only where their targets carry weight: with ``chi2_on_mixture`` or without a
            target network. With a target network and the :math:`\\chi^2` penalty on expert rows
            only, policy rows enter the loss as :math:`V(s)` alone and the option changes
            nothing there (online CartPole: identical curves with and without it). A policy's
            termination is valued as the worst outcome, so the option suits tasks whose
            episodes end in failure (CartPole, Hopper); where the expert itself terminates at a
            goal (Acrobot) it teaches the agent to avoid the goal, and ``fit_online`` warns.
        state_only: learn from expert states only (sec. 5.4): expert actions are not used.
        temperature: entropy temperature :math:`\\alpha` of the soft value / policy.
        observation_scaler: standardisation fitted on the training data (online: on the
            demonstrations); ``None`` turns it off. Continuous IQ-Learn standardises plainly,
            discrete IQ-Learn clips the standardised features at 3 deviations
            (:class:`~offline_iq.preprocessing.ClippedStandardObservationScaler`, whose
            docstring gives the measurements behind each choice).
    """

    #: the fields :meth:`for_online` sets (each learner names its own)
    ONLINE_SETTINGS: ClassVar[Mapping[str, Any]] = {}

    observation_scaler: ObservationScaler | None = standard_scaler_field()

    divergence: str = "chi2"
    value_objective: str = "value_expert"
    chi2_alpha: float = 0.5
    chi2_on_mixture: bool = False
    tv_bound: float = 1.0
    gp_weight: float = 10.0
    lipschitz: float = 1.0
    gradient_penalty: bool = False
    use_target_network: bool = False
    tau: float = 0.005
    bounded_targets: bool = False
    absorbing: bool = False
    state_only: bool = False
    temperature: float = 0.01

    def __post_init__(self) -> None:
        if self.divergence not in DIVERGENCES:
            raise ValueError(f"divergence must be one of {DIVERGENCES}, got {self.divergence!r}")
        if self.value_objective not in VALUE_OBJECTIVES:
            raise ValueError(
                f"value_objective must be one of {VALUE_OBJECTIVES}, got {self.value_objective!r}"
            )
        if self.chi2_on_mixture and self.divergence != "chi2":
            raise ValueError("chi2_on_mixture requires divergence='chi2'")
        for name in ("chi2_alpha", "tv_bound", "temperature", "lipschitz"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 < self.gamma < 1.0:
            raise ValueError(f"gamma must be in (0, 1), got {self.gamma}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        if (self.bounded_targets or self.absorbing) and self.divergence not in ("chi2", "tv"):
            raise ValueError("bounded_targets and absorbing need divergence 'chi2' or 'tv'")

    @classmethod
    def for_online(cls, **overrides: Any) -> Self:
        """This config with the learner's online settings (:attr:`ONLINE_SETTINGS`), then
        ``overrides``. ``offline-iq fit --online`` and the benchmark's ``iq-online`` use the same
        settings, except that they leave ``absorbing`` off where the demonstrations terminate
        (``make_online_config``); here ``fit_online`` warns instead."""
        return cls(**{**cls.ONLINE_SETTINGS, **overrides})

    def objective(self) -> IQObjective:
        """The frozen objective handed to the torch impl."""
        return IQObjective(
            gamma=self.gamma,
            divergence=self.divergence,  # type: ignore[arg-type]
            value_objective=self.value_objective,  # type: ignore[arg-type]
            chi2_alpha=self.chi2_alpha,
            chi2_on_mixture=self.chi2_on_mixture,
            tv_bound=self.tv_bound,
            gp_weight=self.gp_weight,
            lipschitz=self.lipschitz,
            gradient_penalty=self.gradient_penalty,
            bounded_targets=self.bounded_targets,
            absorbing=self.absorbing,
            state_only=self.state_only,
        )
