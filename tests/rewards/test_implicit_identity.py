"""One implicit reward: the reward inside the critic loss is RecoveredReward's, row by row.

For every combination of ``absorbing``, ``bounded_targets``, a target network or none, discrete
or continuous, on random batches of a freshly built learner (two critics, mixed expert and
policy rows, terminal and non-terminal rows in each, and an all-expert offline batch): the
rewards the loss computes (captured where it computes them, and its logged means) equal
:class:`RecoveredReward`'s, before and after a TorchScript round trip.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import d3rlpy
import pytest
import torch

import offline_iq
from offline_iq.algos.iq_loss import IQObjective, soft_value
from offline_iq.algos.torch_batches import ExpertTorchMiniBatch
from offline_iq.rewards import RecoveredReward

OBS_DIM, N_ACTIONS, ACTION_DIM, BATCH = 3, 4, 2, 48
GAMMA, CHI2_ALPHA = 0.9, 0.02  # a small value range, 2 * 0.02 / (1 - 0.9) = 0.4, so clips bite
TOL = {"rtol": 1e-6, "atol": 1e-6}

CASES = list(itertools.product([True, False], repeat=4))
# LS-IQ's labels (expert_terminations="goal"): expert and policy rows read apart after a
# termination, so the expert mask's path through the loss and the saved reward is checked too
GOAL_CASES = [
    (discrete, True, False, target) for discrete in (True, False) for target in (True, False)
]


def _case_id(case: tuple[bool, ...]) -> str:
    names = ("discrete", "absorbing", "bounded", "target")
    return "-".join(n if on else f"no_{n}" for n, on in zip(names, case, strict=True))


def _learner(
    discrete: bool, absorbing: bool, bounded: bool, target: bool, expert_terminations: str
) -> Any:
    small = d3rlpy.models.VectorEncoderFactory([16])
    common: dict[str, Any] = {
        "gamma": GAMMA,
        "chi2_alpha": CHI2_ALPHA,
        "chi2_on_mixture": True,
        "absorbing": absorbing,
        "bounded_targets": bounded,
        "use_target_network": target,
        "expert_terminations": expert_terminations,
        "observation_scaler": None,
        "n_critics": 2,
    }
    if discrete:
        config: Any = offline_iq.DiscreteIQLearnConfig(**common, encoder_factory=small)
        action_size = N_ACTIONS
    else:
        config = offline_iq.IQLearnConfig(
            **common,
            actor_encoder_factory=small,
            critic_encoder_factory=small,
            action_scaler=None,
            n_value_samples=3,
        )
        action_size = ACTION_DIM
    d3rlpy.seed(0)
    algo = config.create(device="cpu:0")
    algo.create_impl((OBS_DIM,), action_size)
    if target:  # a target network that differs from the online critics, as after training
        with torch.no_grad():
            for p in algo.impl.next_q_function.parameters():
                p.add_(0.3 * torch.randn_like(p))
    return algo


def _batch(discrete: bool, mixed: bool) -> ExpertTorchMiniBatch:
    gen = torch.Generator().manual_seed(1)
    rows = torch.arange(BATCH)
    if discrete:
        actions = torch.randint(N_ACTIONS, (BATCH, 1), generator=gen).float()
    else:
        actions = torch.rand(BATCH, ACTION_DIM, generator=gen) * 2.0 - 1.0
    zeros = torch.zeros(BATCH, 1)
    return ExpertTorchMiniBatch(
        observations=4.0 * torch.randn(BATCH, OBS_DIM, generator=gen),
        actions=actions,
        rewards=zeros,
        next_observations=4.0 * torch.randn(BATCH, OBS_DIM, generator=gen),
        next_actions=actions,
        returns_to_go=zeros,
        terminals=(rows % 3 == 0).float().reshape(-1, 1),  # with rows % 2: all four kinds
        intervals=torch.ones(BATCH, 1),
        device="cpu:0",
        is_expert=rows % 2 == 0 if mixed else None,
    )


def _loss_rewards(
    algo: Any, batch: ExpertTorchMiniBatch, reward: RecoveredReward, monkeypatch: Any
) -> tuple[torch.Tensor, Any]:
    """The per-row reward inside the critic loss (mean over the critics' own) and the loss."""
    captured: list[torch.Tensor] = []
    original = IQObjective.implicit_reward

    def spy(self: IQObjective, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        out = original(self, *args, **kwargs)
        captured.append(out[0].detach())
        return out

    with monkeypatch.context() as patch:
        patch.setattr(IQObjective, "implicit_reward", spy)
        if reward.discrete:
            loss = algo.impl.compute_loss(batch)
        else:  # the loss sees the recovered reward's fixed policy samples at s'
            next_samples = reward.module.policy_samples(batch.next_observations)
            loss = algo.impl.compute_critic_loss(batch, next_samples=next_samples)
    assert len(captured) == (1 if reward.discrete else 2)  # once per critic
    return torch.stack(captured).mean(dim=0).reshape(-1), loss


@pytest.mark.parametrize(
    ("case", "expert_terminations"),
    [(case, "failure") for case in CASES] + [(case, "goal") for case in GOAL_CASES],
    ids=[_case_id(c) for c in CASES] + [f"{_case_id(c)}-goal" for c in GOAL_CASES],
)
def test_loss_reward_is_recovered_reward(
    case: tuple[bool, bool, bool, bool],
    expert_terminations: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    discrete, absorbing, bounded, _ = case
    algo = _learner(*case, expert_terminations)
    reward = RecoveredReward.from_algo(algo, n_samples=5)
    loaded = None
    for mixed in (True, False):
        batch = _batch(discrete, mixed)
        mask = batch.expert_mask()
        args = (batch.observations, batch.actions.reshape(-1) if discrete else batch.actions,
                batch.next_observations, batch.terminals.reshape(-1))  # fmt: skip
        expert = None if batch.is_expert is None else batch.is_expert.float()
        in_loss, loss = _loss_rewards(algo, batch, reward, monkeypatch)
        with torch.no_grad():
            recovered = reward(*args, expert)
        torch.testing.assert_close(in_loss, recovered, **TOL)
        # the loss's logged means are the recovered reward's means
        torch.testing.assert_close(loss.reward_expert, recovered[mask].mean(), **TOL)
        if mixed:
            torch.testing.assert_close(loss.reward_policy, recovered[~mask].mean(), **TOL)
        # the TorchScript file computes the same
        if loaded is None:
            reward.save(tmp_path / "reward.pt")
            loaded = RecoveredReward.load(tmp_path / "reward.pt")
        with torch.no_grad():
            torch.testing.assert_close(loaded(*args, expert), recovered, **TOL)
    _check_options_bite(algo, reward, absorbing, bounded, expert_terminations == "goal")


def _check_options_bite(
    algo: Any, reward: RecoveredReward, absorbing: bool, bounded: bool, goal: bool
) -> None:
    """The batch exercises what the case turns on: clipped values, absorbing terminations."""
    batch = _batch(reward.discrete, mixed=True)
    ended = batch.terminals.reshape(-1) > 0.5
    obs, next_obs = batch.observations, batch.next_observations
    assert isinstance(obs, torch.Tensor) and isinstance(next_obs, torch.Tensor)
    act = batch.actions.reshape(-1) if reward.discrete else batch.actions
    with torch.no_grad():
        as_expert = reward(obs, act, next_obs, batch.terminals.reshape(-1), torch.ones(BATCH))
        as_policy = reward(obs, act, next_obs, batch.terminals.reshape(-1), torch.zeros(BATCH))
        if reward.discrete:
            next_v = soft_value(algo.impl.next_q_values(next_obs), algo.impl.temperature)
        else:
            samples = reward.module.policy_samples(next_obs)
            next_v = algo.impl.next_soft_values(next_obs, samples)
    limit = algo.config.objective().reward_bound() / (1.0 - GAMMA)
    assert limit == pytest.approx(0.4)
    if bounded:  # some values of s' outside the range, some inside
        outside = next_v.abs() > limit
        assert bool(outside.any()) and not bool(outside.all())
    # r = Q - gamma V(absorbing). The policy's termination: V(absorbing) = -limit, so a terminal
    # row read as a policy's is gamma (limit + V(s')) above the same row read as not terminal;
    # without the absorbing state, d = 1 cuts the bootstrap: gamma V(s') above
    with torch.no_grad():
        running = reward(obs, act, next_obs, torch.zeros(BATCH), torch.zeros(BATCH))
    v = next_v.clamp(-limit, limit) if bounded else next_v
    v = (v.mean(dim=0) if v.dim() == 3 else v).reshape(-1)  # the actor-critic: each critic's V
    expected = torch.where(ended, GAMMA * ((limit if absorbing else 0.0) + v), 0.0)
    torch.testing.assert_close(as_policy - running, expected, rtol=1e-5, atol=1e-5)
    # an expert's termination: the same -limit by default (a failure, whoever ends); +limit with
    # expert_terminations="goal", so the readings differ by -2 gamma limit there only
    gap = torch.where(ended, -2.0 * GAMMA * limit if absorbing and goal else 0.0, 0.0)
    torch.testing.assert_close(as_expert - as_policy, gap, rtol=1e-5, atol=1e-5)
