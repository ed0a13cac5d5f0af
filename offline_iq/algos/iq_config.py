"""The config fields every IQ-Learn learner has, discrete or continuous.

A field's default lives in one place, :class:`~offline_iq.algos.iq_loss.IQObjective`; the config
hands the objective's fields to the torch impl as one frozen :class:`IQObjective` (no config
object enters the maths).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from d3rlpy.base import LearnableConfig
from d3rlpy.preprocessing import ObservationScaler

from offline_iq.algos.divergences import Divergence
from offline_iq.algos.iq_loss import ExpertTerminations, IQObjective, ValueObjective
from offline_iq.algos.scaler_fields import standard_scaler_field
from offline_iq.validation import check_field_types

__all__ = ["IQLearnConfigBase"]

_OBJECTIVE_FIELDS = tuple(f.name for f in dataclasses.fields(IQObjective))


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
        bounded_targets: clip :math:`V(s')` to :math:`\\pm R/(1 - \\gamma)` (LS-IQ), with
            :math:`R` = ``tv_bound`` for TV and :math:`2\\alpha` for :math:`\\chi^2`, the largest
            reward of :math:`\\chi^2` on expert rows; on the mixture the bound is
            :math:`4\\alpha` and :math:`2\\alpha` is a measured choice
            (:meth:`~offline_iq.algos.iq_loss.IQObjective.reward_bound`).
        absorbing: bootstrap terminations from an absorbing state (LS-IQ). On policy rows it
            acts only where their targets carry weight: with ``chi2_on_mixture`` or without a
            target network. With a target network and the :math:`\\chi^2` penalty on expert rows
            only, policy rows enter the loss as :math:`V(s)` alone and the option changes
            nothing there (online CartPole: identical curves with and without it). A policy's
            termination is valued as the worst outcome, so the option suits tasks whose
            episodes end in failure (CartPole, Hopper); where the expert itself terminates at a
            goal (Acrobot) it teaches the agent to avoid the goal, and ``fit_online`` warns.
        expert_terminations: with ``absorbing``, the absorbing value of an expert row's
            termination: ``"failure"`` (default) the worst, as a policy's (the absorbing state
            is on only where terminations are failures); ``"goal"`` the best (LS-IQ), which
            rewards falling where a demonstration falls.
        state_only: learn from expert states only (sec. 5.4): expert actions are not used.
        logged_bc_weight: weight :math:`\\lambda` of soft behaviour cloning on the policy rows,
            :math:`\\lambda\\,\\mathbb{E}[V(s) - Q(s, a)]`: with logged data as policy rows
            (``fit_mixed``), 1 counts each logged row as a demonstration, 0 (default) leaves
            the logs to the :math:`\\chi^2` and value terms. Continuous IQ-Learn clones
            indirectly (the critic ranks the logged action above the actor's; the actor follows).
            Offline ``fit`` has no policy rows (no effect); online it would clone the agent's own
            replay (``fit_online`` warns); ``state_only`` refuses it.
        temperature: entropy temperature :math:`\\alpha` of the soft value / policy.
        observation_scaler: standardisation fitted on the training data (online: on the
            demonstrations); ``None`` turns it off. Continuous IQ-Learn standardises plainly,
            discrete IQ-Learn clips the standardised features at 3 deviations
            (:class:`~offline_iq.preprocessing.ClippedStandardObservationScaler`, whose
            docstring gives the measurements behind each choice).
    """

    #: the fields :meth:`for_online` sets (each learner names its own)
    ONLINE_SETTINGS: ClassVar[Mapping[str, Any]] = {}
    #: the fields :meth:`for_logged` sets (demonstrations plus logged data as policy rows)
    LOGGED_SETTINGS: ClassVar[Mapping[str, Any]] = {
        "value_objective": "value_expert",
        "chi2_on_mixture": True,
    }

    observation_scaler: ObservationScaler | None = standard_scaler_field()

    divergence: Divergence = IQObjective.divergence
    value_objective: ValueObjective = IQObjective.value_objective
    chi2_alpha: float = IQObjective.chi2_alpha
    chi2_on_mixture: bool = IQObjective.chi2_on_mixture
    tv_bound: float = IQObjective.tv_bound
    gp_weight: float = IQObjective.gp_weight
    lipschitz: float = IQObjective.lipschitz
    gradient_penalty: bool = IQObjective.gradient_penalty
    use_target_network: bool = False
    tau: float = 0.005
    bounded_targets: bool = IQObjective.bounded_targets
    absorbing: bool = IQObjective.absorbing
    expert_terminations: ExpertTerminations = IQObjective.expert_terminations
    state_only: bool = IQObjective.state_only
    logged_bc_weight: float = IQObjective.logged_bc_weight
    temperature: float = 0.01

    def __post_init__(self) -> None:
        check_field_types(self)
        self.objective()  # validates the objective's fields
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")

    @classmethod
    def for_online(cls, **overrides: Any) -> Self:
        """This config with the learner's online settings (:attr:`ONLINE_SETTINGS`), then
        ``overrides``. ``offline-iq fit --online`` and the benchmark's ``iq-online`` use the same
        settings, except that they leave ``absorbing`` off where the demonstrations terminate
        (:func:`~offline_iq.learners.make_online_config`); here ``fit_online`` warns instead."""
        return cls(**{**copy.deepcopy(dict(cls.ONLINE_SETTINGS)), **overrides})

    @classmethod
    def for_logged(cls, **overrides: Any) -> Self:
        """This config with the settings for demonstrations plus logged data
        (:attr:`LOGGED_SETTINGS`, used by ``fit_mixed``, ``offline-iq fit --logged`` and the
        benchmark's ``iq-logged``), then ``overrides``."""
        return cls(**{**copy.deepcopy(dict(cls.LOGGED_SETTINGS)), **overrides})

    def objective(self) -> IQObjective:
        """The frozen objective handed to the torch impl (this config's values of its fields)."""
        return IQObjective(**{name: getattr(self, name) for name in _OBJECTIVE_FIELDS})
