"""Recovered vs true state rewards on the GridWorld (the paper's Figure 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from offline_iq.plotting import save_figure, subplots
from offline_iq.rewards.recovered import RecoveredReward

__all__ = ["plot_state_rewards", "recovered_state_rewards"]


def recovered_state_rewards(
    reward: RecoveredReward, env: Any, action_weights: np.ndarray | None = None
) -> np.ndarray:
    r"""State reward :math:`\hat r(s) = \sum_a w(a|s)\, r(s, a, s'(s, a))`, a ``(size, size)`` map.

    The GridWorld's dynamics are deterministic, so every :math:`(s, a)` has one next state.
    ``action_weights`` ``(S, A)`` are the expert's action probabilities (the expectation over the
    expert's actions); ``None`` averages uniformly over actions (the per-state mean).
    """
    grid = env.unwrapped
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
