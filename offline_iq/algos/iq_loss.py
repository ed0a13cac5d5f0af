r"""The IQ-Learn critic objective as one pure function (Garg et al., 2021, eq. 9-12, sec. 5.1).

With :math:`y = (1 - d)\,\gamma V(s')` (terminations stop the bootstrap, truncations never do)
and the recovered reward :math:`r = Q(s, a) - y` (eq. 11), the loss minimised is

.. math::

    \mathcal{L}(Q) = -\mathbb{E}_{\rho_E}[\phi(r)] + \text{value term}
                     + \frac{1}{4\alpha}\mathbb{E}_{\text{mix}}[r^2] + \lambda\,\text{GP},

where the value term estimates :math:`(1 - \gamma)\mathbb{E}_{p_0}[V(s_0)]` in one of three ways:

* ``value_expert`` (offline default, sec. 5.1): :math:`\mathbb{E}_{\rho_E}[V(s) - y]`;
* ``value`` (online, sec. 5.1): :math:`\mathbb{E}[V(s) - y]` over expert and policy rows;
* ``v0`` (eq. 9 as written): :math:`(1 - \gamma)\mathbb{E}_{s_0}[V(s_0)]` over true initial states.

The :math:`\chi^2` regulariser is applied either inside :math:`\phi` on expert rows
(``chi2_on_mixture=False``: :math:`\phi(x) = x - x^2/(4\alpha)`) or, as the paper's online
MuJoCo runs do, on every row of the batch (``chi2_on_mixture=True``: :math:`\phi(x) = x` on
expert rows plus the squared-reward penalty on expert and policy rows).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal, TypeVar, get_args

import torch

from offline_iq.algos.divergences import DIVERGENCES, Divergence, phi

__all__ = [
    "VALUE_OBJECTIVES",
    "IQLoss",
    "IQObjective",
    "expert_rows",
    "extend_loss",
    "ValueObjective",
    "iq_loss",
    "soft_value",
]

ValueObjective = Literal["value_expert", "value", "v0"]
VALUE_OBJECTIVES: tuple[str, ...] = get_args(ValueObjective)
ExpertTerminations = Literal["failure", "goal"]
EXPERT_TERMINATIONS: tuple[str, ...] = get_args(ExpertTerminations)


@dataclasses.dataclass(frozen=True)
class IQObjective:
    """Everything the IQ-Learn critic loss needs besides network outputs.

    The learners' configs (:class:`~offline_iq.algos.iq_config.IQLearnConfigBase`) take their
    defaults from this class and build one with :meth:`~offline_iq.algos.iq_config.
    IQLearnConfigBase.objective`; the torch impls hand it to :func:`iq_loss`.
    """

    gamma: float = 0.99
    divergence: Divergence = "chi2"
    value_objective: ValueObjective = "value_expert"
    chi2_alpha: float = 0.5
    chi2_on_mixture: bool = False
    tv_bound: float = 1.0
    gp_weight: float = 10.0
    lipschitz: float = 1.0
    gradient_penalty: bool = False
    bounded_targets: bool = False
    absorbing: bool = False
    expert_terminations: ExpertTerminations = "failure"
    state_only: bool = False
    logged_bc_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.divergence not in DIVERGENCES:
            raise ValueError(f"divergence must be one of {DIVERGENCES}, got {self.divergence!r}")
        if self.value_objective not in VALUE_OBJECTIVES:
            raise ValueError(
                f"value_objective must be one of {VALUE_OBJECTIVES}, got {self.value_objective!r}"
            )
        if self.expert_terminations not in EXPERT_TERMINATIONS:
            raise ValueError(
                f"expert_terminations must be one of {EXPERT_TERMINATIONS}, "
                f"got {self.expert_terminations!r}"
            )
        if self.chi2_on_mixture and self.divergence != "chi2":
            raise ValueError("chi2_on_mixture requires divergence='chi2'")
        if not (math.isfinite(self.logged_bc_weight) and self.logged_bc_weight >= 0):
            raise ValueError(f"logged_bc_weight must be >= 0, got {self.logged_bc_weight}")
        if self.state_only and self.logged_bc_weight > 0:
            raise ValueError(
                "logged_bc_weight needs the logged actions: it does nothing with state_only=True"
            )
        for name in ("chi2_alpha", "tv_bound", "lipschitz"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 < self.gamma < 1.0:
            raise ValueError(f"gamma must be in (0, 1), got {self.gamma}")
        if (self.bounded_targets or self.absorbing) and self.divergence not in ("chi2", "tv"):
            raise ValueError("bounded_targets and absorbing need divergence 'chi2' or 'tv'")

    @property
    def uses_gradient_penalty(self) -> bool:
        """W1 always has the Lipschitz penalty; other divergences when asked (paper fn. 6)."""
        return self.divergence == "w1" or self.gradient_penalty

    def reward_bound(self) -> float:
        r"""The reward scale :math:`R` behind ``bounded_targets`` and ``absorbing``: ``tv_bound``
        for TV (the range :math:`\phi` allows), :math:`2\alpha` for :math:`\chi^2`.

        What the :math:`\chi^2` regulariser allows (pointwise optimum of the critic's objective;
        the value term equals :math:`\mathbb{E}_{\rho_\pi}[r]` plus the policy's entropy):

        * inside :math:`\phi`, expert rows only: the stationary point of
          :math:`\mathbb{E}_{\rho_E}[r - r^2/(4\alpha)] - \mathbb{E}_{\rho_\pi}[r]` is
          :math:`\rho_E (1 - r/(2\alpha)) = \rho_\pi`, so
          :math:`r^* = 2\alpha(1 - \rho_\pi/\rho_E) \le 2\alpha`, with no lower bound;
        * on the mixture (``chi2_on_mixture``, LS-IQ): with :math:`c = 1/(4\alpha)` and
          :math:`\text{mix} = (\rho_E + \rho_\pi)/2` (online batches are half expert, half
          policy rows), :math:`\mathbb{E}_{\rho_E}[r] - \mathbb{E}_{\rho_\pi}[r] -
          c\,\mathbb{E}_{\text{mix}}[r^2]` is stationary at
          :math:`\rho_E - \rho_\pi = c(\rho_E + \rho_\pi) r`, so
          :math:`r^* = (\rho_E - \rho_\pi) / (c(\rho_E + \rho_\pi)) \in [-1/c, 1/c]`: the
          bound is :math:`1/c = 4\alpha` (LS-IQ's regression targets :math:`\pm 1/c`), twice
          what is used here.

        :math:`2\alpha` is kept on the mixture too, a choice and not the bound: the absorbing
        value is then :math:`\pm 2\alpha/(1 - \gamma)`, half of LS-IQ's. Measured with
        ``DiscreteIQLearnConfig.for_online()`` on CartPole from one demonstration
        (``benchmarks/learning_curves.py online``, seeds 0-2, returns at 1k..10k environment
        steps), LS-IQ's :math:`4\alpha` gave seed 0 446.2 / 423.0 / 445.3 / 468.0 / 463.5 /
        460.9 / 463.8 / 464.9 / 462.7 / 479.0, seed 1 246.0 / 305.5 / 443.3 / 450.6 / 474.0 /
        478.1 / 460.8 / 479.3 / 487.7 / 474.5, seed 2 67.0 / 292.2 / 457.3 / 486.4 / 496.3 /
        then 500; :math:`2\alpha`, rerun alongside, the curves in ``tests/algos/test_learning.py``
        (seed 0 500 at 10k, seed 1 500 from 3k on, seed 2 498.5 at 10k). The mean over the 30
        points is lower with :math:`4\alpha` (439.2 against 448.2, 11 points at 475 or more
        against 15), and seed 1 no longer reaches 475 at the test's 4,000 steps (450.6) nor at
        10,000 (474.5); seed 2 learns faster with it (457.3 against 331.4 at 3k).
        """
        if self.divergence == "chi2":
            return 2.0 * self.chi2_alpha
        if self.divergence == "tv":
            return self.tv_bound
        raise ValueError(
            f"bounded_targets and absorbing need chi2 or tv rewards, not {self.divergence}"
        )

    def prepare_next_v(
        self, next_v: torch.Tensor, terminals: torch.Tensor, is_expert: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Apply LS-IQ-style options to :math:`V(s')` and the termination mask.

        * ``bounded_targets``: clip :math:`V(s')` to :math:`\pm R / (1 - \gamma)`, the value
          range of rewards bounded by :math:`R` (:meth:`reward_bound`).
        * ``absorbing``: a termination leads to an absorbing state instead of a cut bootstrap.
          On policy rows its value is :math:`-R / (1 - \gamma)`, the worst return the rewards
          allow. On expert rows it follows ``expert_terminations``: ``"failure"`` (default) the
          same :math:`-R / (1 - \gamma)`, since the absorbing state is on only where
          terminations are failures (:func:`~offline_iq.learners.absorbing_for`), whoever
          ends; ``"goal"`` :math:`+R / (1 - \gamma)`, LS-IQ's label of expert rows, which
          values an expert's fall as the best outcome and teaches the agent to fall where the
          demonstration falls. ``is_expert`` ``None`` means every row is expert.
        """
        if not (self.bounded_targets or self.absorbing):
            return next_v, terminals
        limit = self.reward_bound() / (1.0 - self.gamma)
        if self.bounded_targets:
            next_v = next_v.clamp(-limit, limit)
        if self.absorbing:
            absorbing_v = torch.full_like(next_v, -limit)
            if self.expert_terminations == "goal":
                if is_expert is None:
                    is_expert = torch.ones(next_v.shape[0], dtype=torch.bool, device=next_v.device)
                absorbing_v = torch.where(is_expert.reshape(-1, 1), limit, absorbing_v)
            next_v = torch.where(terminals > 0.5, absorbing_v, next_v)
            terminals = torch.zeros_like(terminals)
        return next_v, terminals

    def implicit_reward(
        self,
        q: torch.Tensor,
        next_v: torch.Tensor,
        terminals: torch.Tensor,
        is_expert: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""The reward the critic loss trains on, :math:`r = Q(s, a) - y`, and the bootstrap
        target :math:`y = \gamma (1 - d) V(s')` (eq. 11), after :meth:`prepare_next_v`.

        The one place the loss (:func:`iq_loss`) and the learners' ``implicit_reward`` (hence
        :class:`~offline_iq.rewards.RecoveredReward`) compute the reward: ``q`` ``(B, K)``
        (``K`` actions per state, broadcast), ``next_v``, ``terminals`` ``(B, 1)``,
        ``is_expert`` a ``(B,)`` bool mask or ``None`` (every row expert). Returns ``(r, y)``.
        """
        next_v, terminals = self.prepare_next_v(next_v, terminals, is_expert)
        y = (1.0 - terminals) * self.gamma * next_v
        return q - y, y


@dataclasses.dataclass(frozen=True)
class IQLoss:
    """Terms of the critic loss; ``loss`` is what gets differentiated, the rest is for logs
    (d3rlpy's ``asdict_as_float`` flattens it)."""

    loss: torch.Tensor
    softq_loss: torch.Tensor  # -E_expert[phi(r)]
    value_loss: torch.Tensor
    chi2_loss: torch.Tensor  # mixture regulariser (0 when inside phi)
    gp_loss: torch.Tensor  # the Lipschitz gradient penalty before its weight (0 when unused)
    reward_expert: torch.Tensor  # mean recovered reward on expert rows (detached)
    reward_policy: torch.Tensor  # mean recovered reward on policy rows (detached, 0 if none)
    logged_bc_loss: torch.Tensor  # logged_bc_weight * E_policy rows[V(s) - Q(s, a)] (0 if unused)


LossT = TypeVar("LossT", bound=IQLoss)


def extend_loss(loss: IQLoss, cls: type[LossT], **extra: torch.Tensor) -> LossT:
    """``loss`` as the subclass ``cls`` (a learner's own log fields added from ``extra``)."""
    return cls(**{f.name: getattr(loss, f.name) for f in dataclasses.fields(IQLoss)}, **extra)


def soft_value(q_values: torch.Tensor, temperature: float) -> torch.Tensor:
    r""":math:`V(s) = \alpha \log \sum_a \exp(Q(s, a) / \alpha)`, shape ``(B, 1)``."""
    return temperature * torch.logsumexp(q_values / temperature, dim=1, keepdim=True)


def iq_loss(
    objective: IQObjective,
    *,
    q: torch.Tensor,
    v: torch.Tensor,
    next_v: torch.Tensor,
    terminals: torch.Tensor,
    is_expert: torch.Tensor | None,
    initial_v: torch.Tensor | None = None,
    gradient_penalty: torch.Tensor | None = None,
    q_weights: torch.Tensor | None = None,
) -> IQLoss:
    r"""Compute the IQ-Learn critic loss for one batch.

    Args:
        objective: the options (divergence, value term, regulariser, LS-IQ targets).
        q: ``Q(s, a)`` of the taken actions, ``(B, 1)``; or ``(B, K)`` values of K actions per
            state, averaged with ``q_weights`` after ``phi`` (state-only imitation, sec. 5.4:
            :math:`\mathbb{E}_{a \sim \pi}[\phi(Q(s, a) - y)]`).
        v: ``V(s)``, ``(B, 1)``.
        next_v: ``V(s')``, ``(B, 1)`` (any value where ``terminals`` is 1: it is masked, or
            replaced by the absorbing value with ``objective.absorbing``).
        terminals: 1 where the environment terminated at this step, ``(B, 1)``.
        is_expert: boolean mask of expert rows, ``(B,)`` or ``(B, 1)``, at least one True;
            ``None`` when every row is expert (offline).
        initial_v: ``V(s_0)`` of true initial states, required for ``v0``.
        gradient_penalty: the Lipschitz penalty, already computed (scalar), weighted by
            ``objective.gp_weight``.
        q_weights: ``(B, K)`` probabilities of the K actions in ``q`` (default: uniform).
    """
    obj = objective
    mask = _check_shapes(q, v, next_v, terminals, is_expert, q_weights)
    reward, y = obj.implicit_reward(q, next_v, terminals, mask)  # (B, K), (B, 1)
    weights = q_weights
    if weights is None and q.shape[1] > 1:
        weights = torch.full_like(q, 1.0 / q.shape[1])
    softq_loss, chi2_loss = _divergence_terms(obj, reward, weights, mask)
    value_loss = _value_term(obj, v - y, mask, initial_v)
    logged_bc_loss = _logged_bc_term(obj, q, v, weights, mask)
    loss = softq_loss + value_loss + chi2_loss + logged_bc_loss
    if gradient_penalty is not None:
        loss = loss + obj.gp_weight * gradient_penalty
    mean_reward = _weighted(reward, weights).sum(1).detach()
    zero = torch.zeros((), device=q.device)
    policy_rows = mean_reward[:0] if mask is None else mean_reward[~mask]
    return IQLoss(
        loss=loss,
        softq_loss=softq_loss,
        value_loss=value_loss,
        chi2_loss=chi2_loss,
        gp_loss=gradient_penalty.detach() if gradient_penalty is not None else zero,
        reward_expert=expert_rows(mean_reward, mask).mean(),
        reward_policy=policy_rows.mean() if policy_rows.numel() else zero,
        logged_bc_loss=logged_bc_loss,
    )


def _logged_bc_term(
    obj: IQObjective,
    q: torch.Tensor,
    v: torch.Tensor,
    weights: torch.Tensor | None,
    mask: torch.Tensor | None,
) -> torch.Tensor:
    r""":math:`\lambda\,\mathbb{E}_{\rho_U}[V(s) - Q(s, a)]` over the policy (logged) rows.

    With logged data as the policy rows (``fit_mixed``), this is soft behaviour cloning of the
    logs with weight :math:`\lambda` = ``logged_bc_weight``: :math:`V(s) - Q(s, a) =
    -\alpha \log \pi_Q(a|s)` for the discrete softmax policy. For continuous IQ-Learn,
    :math:`V(s)` comes from the actor's samples, so the term raises the logged action's Q above
    the actor's and the actor follows through its own loss: cloning, but indirectly. It equals
    the expert rows' own terms :math:`-r + V(s) - \gamma V(s')` (with ``value_expert``) on the
    logs, so :math:`\lambda = 1` counts every logged row as a demonstration and 0 leaves the
    loss as it was. Zero when the weight is 0 or the batch has no policy rows. (``state_only``,
    whose ``q`` holds sampled actions, refuses a weight: cloning needs the logged action.)
    """
    if obj.logged_bc_weight == 0.0 or mask is None or bool(mask.all()):
        return torch.zeros((), device=q.device)
    q_row = _weighted(q, weights).sum(1, keepdim=True)  # (B, 1): the taken action's Q
    return obj.logged_bc_weight * (v - q_row)[~mask].mean()


def _weighted(x: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """``weights * x``; ``None`` weights are all 1 (one action per row), and ``x`` is exact."""
    return x if weights is None else weights * x


def _divergence_terms(
    obj: IQObjective, reward: torch.Tensor, weights: torch.Tensor | None, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    r""":math:`-\mathbb{E}_{\rho_E}[\phi(r)]` and the mixture's :math:`\chi^2` term."""
    expert_reward = expert_rows(reward, mask)
    expert_weights = None if weights is None else expert_rows(weights, mask)
    if obj.chi2_on_mixture:
        softq_loss = -_weighted(expert_reward, expert_weights).sum(1).mean()
        chi2_loss = _weighted(reward.pow(2), weights).sum(1).mean() / (4.0 * obj.chi2_alpha)
        return softq_loss, chi2_loss
    phi_r = phi(obj.divergence, expert_reward, chi2_alpha=obj.chi2_alpha, tv_bound=obj.tv_bound)
    return -_weighted(phi_r, expert_weights).sum(1).mean(), torch.zeros((), device=reward.device)


def _check_shapes(
    q: torch.Tensor,
    v: torch.Tensor,
    next_v: torch.Tensor,
    terminals: torch.Tensor,
    is_expert: torch.Tensor | None,
    q_weights: torch.Tensor | None,
) -> torch.Tensor | None:
    """Check the shapes :func:`iq_loss` needs; return the ``(B,)`` bool mask (or ``None``)."""
    n = q.shape[0] if q.dim() >= 1 else -1
    mask = None
    if is_expert is not None:
        mask = is_expert.reshape(-1).bool()
        if not bool(mask.any()):
            raise ValueError("iq_loss needs at least one expert row")
        n = mask.shape[0]
    for name, tensor in (("v", v), ("next_v", next_v), ("terminals", terminals)):
        if tensor.shape != (n, 1):
            raise ValueError(f"{name} must have shape ({n}, 1), got {tuple(tensor.shape)}")
    if q.dim() != 2 or q.shape[0] != n:
        raise ValueError(f"q must have shape ({n}, K), got {tuple(q.shape)}")
    if q_weights is not None and q_weights.shape != q.shape:
        raise ValueError(
            f"q_weights shape {tuple(q_weights.shape)} differs from q {tuple(q.shape)}"
        )
    return mask


def expert_rows(x: torch.Tensor, is_expert: torch.Tensor | None) -> torch.Tensor:
    """The rows of ``x`` that ``is_expert`` marks (``x`` itself when it is ``None``: all)."""
    return x if is_expert is None else x[is_expert]


def _value_term(
    obj: IQObjective,
    v_minus_y: torch.Tensor,
    mask: torch.Tensor | None,
    initial_v: torch.Tensor | None,
) -> torch.Tensor:
    """The value term of the loss, by ``obj.value_objective`` (see the module docstring)."""
    if obj.value_objective == "value_expert":
        return expert_rows(v_minus_y, mask).mean()
    if obj.value_objective == "value":
        return v_minus_y.mean()
    if initial_v is None:
        raise ValueError("value_objective='v0' needs initial_v")
    return (1.0 - obj.gamma) * initial_v.mean()
