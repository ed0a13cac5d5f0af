"""Parts of the continuous IQ-Learn impl: its modules, loss records, and the actor-side and
W1 terms as pure functions."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence

import torch
from d3rlpy.models.torch import ContinuousEnsembleQFunctionForwarder, NormalPolicy, Parameter
from d3rlpy.optimizers import OptimizerWrapper
from d3rlpy.torch_utility import Modules
from torch import nn

from offline_iq.algos.iq_loss import IQLoss
from offline_iq.algos.penalties import expert_policy_pairs, interpolation_gradient_penalty

__all__ = [
    "IQLearnActorLoss",
    "IQLearnCriticLoss",
    "IQLearnModules",
    "expert_bc_loss",
    "frozen_parameters",
    "mean_over_critics",
    "policy_smoothness_loss",
    "q_filtered_bc_loss",
    "state_action_gradient_penalty",
]


@dataclasses.dataclass(frozen=True)
class IQLearnModules(Modules):
    policy: NormalPolicy
    averaged_policy: NormalPolicy | None
    q_funcs: nn.ModuleList
    targ_q_funcs: nn.ModuleList
    log_temp: Parameter
    actor_optim: OptimizerWrapper
    critic_optim: OptimizerWrapper
    temp_optim: OptimizerWrapper | None


@dataclasses.dataclass(frozen=True)
class IQLearnCriticLoss(IQLoss):
    """The critic loss's terms (mean over the ensemble) and the mean ``Q`` of expert rows."""

    q_expert: torch.Tensor


@dataclasses.dataclass(frozen=True)
class IQLearnActorLoss:
    """The actor step's terms: SAC loss, Q-filtered BC loss and the fraction of rows it used,
    the always-on expert BC loss, the smoothness loss, the temperature, its loss, and the
    policy's entropy estimate."""

    actor_loss: torch.Tensor
    bc_loss: torch.Tensor
    bc_fraction: torch.Tensor
    expert_bc_loss: torch.Tensor
    smoothness_loss: torch.Tensor
    temp: torch.Tensor
    temp_loss: torch.Tensor
    entropy: torch.Tensor


def mean_over_critics(losses: list[IQLoss]) -> IQLoss:
    """Each term of the per-critic losses averaged over the ensemble (only ``loss`` keeps its
    graph: the other terms are records)."""
    loss = torch.stack([part.loss for part in losses]).mean()
    with torch.no_grad():
        records = {
            name: torch.stack([getattr(part, name) for part in losses]).mean() for name in _RECORDS
        }
    return IQLoss(loss=loss, **records)


_RECORDS = tuple(f.name for f in dataclasses.fields(IQLoss) if f.name != "loss")


def q_filtered_bc_loss(
    mean_actions: torch.Tensor,
    expert_actions: torch.Tensor,
    is_expert: torch.Tensor,
    use: torch.Tensor,
    scale: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Q-filtered behaviour cloning (Nair et al., 2018) and the fraction of rows it uses:

    .. math::

        \overline{|Q|} \, \frac{1}{|E|} \sum_{(s, a) \in E}
            \mathbb{1}\big[Q(s, a) > Q(s, \bar a(s))\big] \, \lVert \bar a(s) - a \rVert^2,
        \qquad \bar a(s) = \tanh \mu(s) \text{ (``mean_actions``)},

    over the expert rows :math:`E` (``use`` is the indicator, already false off :math:`E`): the
    actor's deterministic action is pulled toward the expert's only where the critic rates the
    expert action higher, a policy-improvement step the critic agrees with. ``scale``
    (:math:`\overline{|Q|}`, the batch mean of :math:`|Q(s, \bar a(s))|`, no gradient) keeps
    the balance with the SAC term's :math:`Q` independent of the scale of :math:`Q` (as TD3+BC
    normalises, Fujimoto & Gu, 2021); IQ-Learn's Q levels drift as it trains.
    """
    squared = ((mean_actions - expert_actions) ** 2).sum(dim=1)
    n_expert = is_expert.sum().clamp(min=1)
    return scale * (squared * use).sum() / n_expert, use.sum() / n_expert


def expert_bc_loss(
    mean_actions: torch.Tensor, expert_actions: torch.Tensor, is_expert: torch.Tensor
) -> torch.Tensor:
    r"""Behaviour cloning on every expert row, with no critic in it:

    .. math::

        \frac{1}{|E|} \sum_{(s, a) \in E} \lVert \bar a(s) - a \rVert^2,
        \qquad \bar a(s) = \tanh \mu(s) \text{ (``mean_actions``)}.

    Unlike :func:`q_filtered_bc_loss` it is not scaled by :math:`\overline{|Q|}`, so its weight
    relative to the SAC term's :math:`Q` grows as the critic's values shrink: online, the implicit
    reward that separates expert and policy occupancies tends to 0 as they meet, and this term is
    what then holds the actor at the demonstrations. 0 when the batch has no expert row.
    """
    squared = ((mean_actions - expert_actions) ** 2).sum(dim=1)
    return (squared * is_expert).sum() / is_expert.sum().clamp(min=1)


def policy_smoothness_loss(
    mean_actions: torch.Tensor, perturbed_mean_actions: torch.Tensor
) -> torch.Tensor:
    r"""Spatial smoothness of the actor's deterministic action, the squared-distance form of
    CAPS's spatial term (Mysore et al., 2021):

    .. math::

        \frac{1}{B} \sum_{s} \lVert \bar a(s + \sigma \epsilon) - \bar a(s) \rVert^2,
        \qquad \epsilon \sim \mathcal{N}(0, I), \quad \bar a = \tanh \mu,

    over the batch's states (expert and policy rows alike, in the scaler's standardised units;
    the caller draws :math:`\sigma \epsilon`). Both sides carry gradient: the actions at a state
    and at a state moved in a random direction are pulled toward each other, so the actor cannot
    change its action sharply within about :math:`\sigma` of the states it trains on. Nothing
    here says which of the two actions is right; that is the critic's (and any BC term's) job.
    """
    return ((perturbed_mean_actions - mean_actions) ** 2).sum(dim=1).mean()


def state_action_gradient_penalty(
    forwarder: ContinuousEnsembleQFunctionForwarder,
    obs: torch.Tensor,
    actions: torch.Tensor,
    is_expert: torch.Tensor,
    own_actions: Callable[[], torch.Tensor],
    lipschitz: float,
) -> torch.Tensor:
    """W1 penalty of the mean critic on (state, action) interpolates of expert and policy pairs;
    offline (no policy rows) the policy side is ``own_actions()`` at the expert states."""

    def own_inputs() -> torch.Tensor:
        return torch.cat([obs[is_expert], own_actions()], dim=1)

    inputs = torch.cat([obs, actions], dim=1)
    expert, policy = expert_policy_pairs(inputs, is_expert, own_inputs)
    dim = obs.shape[1]

    def critic(x: torch.Tensor) -> torch.Tensor:
        return forwarder.compute_expected_q(x[:, :dim], x[:, dim:], "mean")

    return interpolation_gradient_penalty(critic, expert, policy, lipschitz)


@contextlib.contextmanager
def frozen_parameters(params: nn.Module | Sequence[torch.Tensor]) -> Iterator[None]:
    """No weight gradients for ``params`` (a module's, or a list) inside the block (inputs still
    get theirs)."""
    weights = list(params.parameters() if isinstance(params, nn.Module) else params)
    for p in weights:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in weights:
            p.requires_grad_(True)
