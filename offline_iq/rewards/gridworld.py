r"""Recovered vs true state rewards on the GridWorld (the paper's Figure 4).

The recipe (:func:`reward_recovery_config`, measured on the 30 shipped 5x5 demonstrations):

* ``value_objective="v0"``: the value term :math:`(1-\gamma)\,\mathbb{E}_{\rho_0}[V(s_0)]` over
  the true (random) start states. ``value_expert`` leaves :math:`V` free wherever the expert
  does not go and recovered a reward with Pearson 0.08 even at the exact tabular optimum.
* the expert's discount and temperature (:data:`~offline_iq.envs.gridworld.EXPERT_GAMMA`,
  :data:`~offline_iq.envs.gridworld.EXPERT_TEMPERATURE`), and a stronger :math:`\chi^2`
  regulariser ``chi2_alpha=0.2`` (exact tabular optimum: Pearson 0.92 at 0.2, 0.88 at 0.5,
  0.80 at 2.0, 0.39 at 0.05).
* a cosine-decayed learning rate: the recovered reward is sensitive to minibatch noise at the
  end of training (tabular, constant rate: 0.93/0.84 at 1e-2 against 0.92/0.95 at 1e-3 with
  more steps), so the rate decays to 0 over the run.

The state reward is the expectation of :math:`r(s, a, s')` over the learned policy's actions
(the expert's are unknown to a user; the learned policy matches them where there is data).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import d3rlpy
import numpy as np
import torch
from scipy.stats import pearsonr

from offline_iq.algos.discrete_iq import DiscreteIQLearn, DiscreteIQLearnConfig
from offline_iq.data.buffer import ExpertReplayBuffer
from offline_iq.envs.gridworld import EXPERT_GAMMA, EXPERT_TEMPERATURE, GridWorldEnv
from offline_iq.plotting import save_figure, subplots
from offline_iq.rewards.recovered import RecoveredReward

__all__ = [
    "GridWorldRecovery",
    "learned_policy",
    "plot_state_rewards",
    "recover_state_rewards",
    "recovered_state_rewards",
    "reward_recovery_config",
]


def reward_recovery_config(
    n_steps: int = 20_000, *, chi2_alpha: float = 0.2, learning_rate: float = 1e-3
) -> DiscreteIQLearnConfig:
    """The GridWorld reward-recovery recipe (module docstring) for a run of ``n_steps``."""
    schedule = d3rlpy.optimizers.CosineAnnealingLRFactory(T_max=n_steps)
    return DiscreteIQLearnConfig(
        gamma=EXPERT_GAMMA,
        temperature=EXPERT_TEMPERATURE,
        value_objective="v0",
        chi2_alpha=chi2_alpha,
        learning_rate=learning_rate,
        optim_factory=d3rlpy.optimizers.AdamFactory(lr_scheduler_factory=schedule),
        observation_scaler=None,  # one-hot cells need no scaling
    )


def learned_policy(algo: DiscreteIQLearn, n_states: int) -> np.ndarray:
    """``softmax(Q(s, .) / temperature)`` for every cell, shape ``(S, A)``."""
    if algo.impl is None:
        raise ValueError("learned_policy needs a fitted algorithm")
    with torch.no_grad():
        probs = algo.impl.action_probabilities(torch.eye(n_states, device=algo.impl.device))
    return probs.cpu().numpy()


@dataclasses.dataclass(frozen=True)
class GridWorldRecovery:
    """True and recovered ``(size, size)`` state rewards, their Pearson correlation, the model.

    ``visited`` marks the cells the demonstrations pass through and ``pearson_visited`` is the
    correlation over those cells only: a reward is not identified where no data goes (the
    10x10 map's -1 band, which the expert avoids, is never visited).
    """

    true: np.ndarray
    recovered: np.ndarray
    pearson: float
    visited: np.ndarray
    pearson_visited: float
    algo: DiscreteIQLearn


def recover_state_rewards(
    data: ExpertReplayBuffer,
    *,
    seed: int = 0,
    n_steps: int = 20_000,
    device: str = "cpu:0",
    show_progress: bool = False,
) -> GridWorldRecovery:
    """Fit :func:`reward_recovery_config` on GridWorld ``data`` and score the state reward."""
    spec = data.metadata.env_spec
    if spec is None or not isinstance(data.metadata.make_env().unwrapped, GridWorldEnv):
        env_id = None if spec is None else spec.id
        raise ValueError(f"recover_state_rewards needs GridWorld data, got env {env_id!r}")
    d3rlpy.seed(seed)
    algo = reward_recovery_config(n_steps).create(device=device)
    algo.fit(data, n_steps=n_steps, n_steps_per_epoch=n_steps, show_progress=show_progress,
             logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip
    env = data.metadata.make_env()
    grid: Any = env.unwrapped
    recovered = recovered_state_rewards(
        RecoveredReward.from_algo(algo), env, learned_policy(algo, grid.observation_space.n)
    )
    true = np.asarray(grid.state_rewards, dtype=np.float64)
    pearson = float(pearsonr(recovered.ravel(), true.ravel()).statistic)
    cells = np.concatenate([data.transitions.observations, data.transitions.next_observations])
    visited = (cells.sum(axis=0) > 0).reshape(true.shape)
    pearson_visited = float(pearsonr(recovered[visited], true[visited]).statistic)
    return GridWorldRecovery(true=true, recovered=recovered, pearson=pearson, visited=visited,
                             pearson_visited=pearson_visited, algo=algo)  # fmt: skip


def recovered_state_rewards(
    reward: RecoveredReward, env: Any, action_weights: np.ndarray | None = None
) -> np.ndarray:
    r"""State reward :math:`\hat r(s) = \sum_a w(a|s)\, r(s, a, s'(s, a))`, a ``(size, size)`` map.

    The GridWorld's dynamics are deterministic, so every :math:`(s, a)` has one next state.
    ``action_weights`` ``(S, A)`` are the expert's action probabilities (the expectation over the
    expert's actions); ``None`` averages uniformly over actions (the per-state mean).
    """
    grid: Any = env.unwrapped
    n_states, n_actions = grid.observation_space.n, grid.action_space.n
    eye = np.eye(n_states, dtype=np.float32)
    states = np.repeat(np.arange(n_states), n_actions)
    actions = np.tile(np.arange(n_actions), n_states)
    next_states = np.array(
        [grid.next_state(int(s), int(a)) for s, a in zip(states, actions, strict=True)]
    )
    values = reward.predict(eye[states], actions, eye[next_states], np.zeros(len(states)))
    table = values.reshape(n_states, n_actions)
    weights = np.full_like(table, 1.0 / n_actions) if action_weights is None else action_weights
    return (table * weights).sum(axis=1).reshape(grid.size, grid.size)


def plot_state_rewards(
    true: np.ndarray, recovered: np.ndarray, path: str | Path, title: str = ""
) -> Path:
    """Heatmaps of the true and the recovered state reward, side by side."""
    fig, axes = subplots(2, figsize=(8, 3.8))
    for ax, grid, name in zip(
        axes, (true, recovered), ("true reward", "recovered reward"), strict=True
    ):
        image = ax.imshow(grid, cmap="viridis")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(image, ax=ax, fraction=0.046)
    return save_figure(fig, path, title)
