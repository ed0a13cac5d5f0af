"""A deterministic tabular GridWorld with a known state reward, for reward-recovery experiments.

Set-up of IQ-Learn's Figure 4 (Garg et al., 2021): a 5x5 grid rewarding three corners, and a
richer 10x10 variant. Everything needed for exact planning is exposed:
:attr:`GridWorldEnv.state_rewards`, :meth:`GridWorldEnv.transition_matrix` and
:meth:`GridWorldEnv.reward_vector`.

* Cells are indexed ``s = row * size + col``; row 0 is the top. The observation is that index
  (``Discrete(size * size)``; the project's data loader one-hot encodes it).
* Actions: 0 up (row - 1), 1 down (row + 1), 2 left (col - 1), 3 right (col + 1), 4 stay.
  Moves are deterministic; a move into a wall leaves the agent where it is.
* Reward: **the reward of the cell the agent is in when it acts**, ``r_t = r(s_t)``, whatever
  the action (so ``R(s, a) = r(s)``, and :meth:`~GridWorldEnv.reward_vector` has shape ``(S,)``).
  Cells not listed in ``reward_cells`` get ``default_reward`` (0: no step cost).
* Episodes start in a uniformly random cell (from the env's seeded ``np_random``), in a cell
  drawn from ``start_distribution`` when one is given, or in ``reset(options={"state": s})``;
  they never terminate and are truncated by the registration's ``max_episode_steps``.

Registered ids (see :mod:`offline_iq.envs`): ``offline_iq/GridWorld-v0`` (5x5, 20 steps) and
``offline_iq/GridWorld10x10-v0`` (10x10, 40 steps).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from offline_iq.envs.soft_value_iteration import SoftOptimalPolicy

__all__ = [
    "ACTION_NAMES",
    "DEFAULT_REWARD_CELLS_5X5",
    "DEFAULT_REWARD_CELLS_10X10",
    "EXPERT_GAMMA",
    "EXPERT_TEMPERATURE",
    "GridWorldEnv",
    "make_gridworld_expert",
]

ACTION_NAMES = ("up", "down", "left", "right", "stay")
_MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1), (0, 0))

RewardCells = Iterable[Sequence[float]]

# (row, col, reward) triples; unlisted cells get ``default_reward``.
DEFAULT_REWARD_CELLS_5X5: tuple[tuple[int, int, float], ...] = (
    (0, 0, 1.0),  # top-left
    (0, 4, 1.0),  # top-right
    (4, 4, 1.0),  # bottom-right
)
DEFAULT_REWARD_CELLS_10X10: tuple[tuple[int, int, float], ...] = (
    (0, 9, 1.0),  # top-right: the main goal
    (9, 0, 0.6),  # bottom-left: a lesser goal
    (6, 7, 0.3),  # a small bonus inside the lower-right quarter
    # a penalised band across the middle, rows 4-5, columns 2-7 (gaps at columns 0-1 and 8-9)
    *((row, col, -1.0) for row in (4, 5) for col in range(2, 8)),
)

# The expert: soft-optimal policy softmax(Q*/T) of soft value iteration with these settings.
EXPERT_GAMMA = 0.9
EXPERT_TEMPERATURE = 0.1


def _default_cells(size: int) -> tuple[tuple[int, int, float], ...]:
    if size == 10:
        return DEFAULT_REWARD_CELLS_10X10
    last = size - 1
    return ((0, 0, 1.0), (0, last, 1.0), (last, last, 1.0))  # 5x5: DEFAULT_REWARD_CELLS_5X5


class GridWorldEnv(gym.Env[int, int]):
    """``size x size`` deterministic grid with reward ``r(s_t)`` for the current cell.

    Args:
        size: side length (>= 2).
        reward_cells: ``(row, col, reward)`` triples (lists are fine, e.g. from JSON); ``None``
            uses the default map for ``size``: +1 at the top-left, top-right and bottom-right
            corners, or :data:`DEFAULT_REWARD_CELLS_10X10` for ``size == 10``.
        default_reward: reward of every unlisted cell (a negative value is a step cost).
        render_mode: ``None`` or ``"ansi"``.
        start_distribution: probabilities of starting in each cell (``size * size`` values, by
            cell index); ``None`` starts uniformly.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012

    def __init__(
        self,
        size: int = 5,
        reward_cells: RewardCells | None = None,
        default_reward: float = 0.0,
        render_mode: str | None = None,
        start_distribution: Sequence[float] | None = None,
    ) -> None:
        if int(size) < 2:
            raise ValueError(f"size must be >= 2, got {size}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.size = int(size)
        self.render_mode = render_mode
        rewards = np.full((self.size, self.size), float(default_reward))
        for cell in _default_cells(self.size) if reward_cells is None else reward_cells:
            row, col, value = int(cell[0]), int(cell[1]), float(cell[2])
            if not (0 <= row < self.size and 0 <= col < self.size):
                raise ValueError(f"reward cell ({row}, {col}) is outside the {size}x{size} grid")
            rewards[row, col] = value
        rewards.setflags(write=False)
        self.state_rewards: NDArray[np.float64] = rewards
        self.n_states = self.size * self.size
        self.start_distribution: NDArray[np.float64] | None = None
        if start_distribution is not None:
            start = np.asarray(start_distribution, dtype=np.float64)
            if start.shape != (self.n_states,) or np.any(start < 0.0) or start.sum() <= 0.0:
                raise ValueError(
                    f"start_distribution must be {self.n_states} non-negative weights, not all 0"
                )
            start = start / start.sum()
            start.setflags(write=False)
            self.start_distribution = start
        self.n_actions = len(_MOVES)
        # Discrete is typed Space[np.int64]; observations are plain ints, which it contains.
        self.observation_space = cast("spaces.Space[int]", spaces.Discrete(self.n_states))
        self.action_space = cast("spaces.Space[int]", spaces.Discrete(self.n_actions))
        self._next = np.array(
            [[self._move(s, a) for a in range(self.n_actions)] for s in range(self.n_states)],
            dtype=np.int64,
        )
        self._state = 0

    def _move(self, state: int, action: int) -> int:
        row, col = divmod(state, self.size)
        d_row, d_col = _MOVES[action]
        row = min(max(row + d_row, 0), self.size - 1)
        col = min(max(col + d_col, 0), self.size - 1)
        return row * self.size + col

    @property
    def state(self) -> int:
        """The current cell index."""
        return self._state

    def cell(self, state: int) -> tuple[int, int]:
        """``(row, col)`` of a cell index."""
        row, col = divmod(int(state), self.size)
        return row, col

    def next_state(self, state: int, action: int) -> int:
        """The deterministic successor of ``state`` under ``action``."""
        return int(self._next[state, action])

    def transition_matrix(self) -> NDArray[np.float64]:
        """``P[s, a, s2]``, shape ``(S, A, S)``: one-hot rows of the deterministic moves."""
        p = np.zeros((self.n_states, self.n_actions, self.n_states))
        s, a = np.indices(self._next.shape)
        p[s, a, self._next] = 1.0
        return p

    def reward_vector(self) -> NDArray[np.float64]:
        """``r(s)``, shape ``(S,)``: the reward for acting in cell ``s`` (any action)."""
        return self.state_rewards.reshape(-1).copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Start in a random cell (uniform, or ``start_distribution``), or in ``options["state"]``
        (a cell index) if given."""
        super().reset(seed=seed)
        if self.start_distribution is None:
            self._state = int(self.np_random.integers(self.n_states))
        else:
            self._state = int(self.np_random.choice(self.n_states, p=self.start_distribution))
        if options is not None and "state" in options:
            start = int(options["state"])
            if not 0 <= start < self.n_states:
                raise ValueError(f"start state {start} out of range [0, {self.n_states})")
            self._state = start
        return self._state, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Pay ``r(s_t)`` of the current cell, then move (walls block); never terminates."""
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r} for {self.action_space}")
        reward = float(self.state_rewards.flat[self._state])
        self._state = int(self._next[self._state, int(action)])
        return self._state, reward, False, False, {}

    def render(self) -> str | None:  # type: ignore[override]
        """Text grid: ``A`` the agent, ``+``/``-``/``.`` positive, negative and zero reward."""
        if self.render_mode != "ansi":
            return None
        rows = []
        for row in range(self.size):
            line = []
            for col in range(self.size):
                value = self.state_rewards[row, col]
                mark = "+" if value > 0 else "-" if value < 0 else "."
                line.append("A" if row * self.size + col == self._state else mark)
            rows.append(" ".join(line))
        return "\n".join(rows) + "\n"


def make_gridworld_expert(
    env_id: str,
    env_kwargs: Mapping[str, object] | None = None,
    *,
    gamma: float = EXPERT_GAMMA,
    temperature: float = EXPERT_TEMPERATURE,
) -> SoftOptimalPolicy:
    """The soft-optimal expert of a registered GridWorld id with its env kwargs.

    ``env_kwargs`` are those given to ``gym.make`` (``size``, ``reward_cells``, ...) plus an
    optional ``seed`` (default 0) for the policy's action sampling, which is removed before the
    environment is built.
    """
    kwargs: dict[str, Any] = dict(env_kwargs or {})
    seed = kwargs.pop("seed", 0)
    if not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    env = gym.make(env_id, **kwargs)
    try:
        grid = env.unwrapped
        if not isinstance(grid, GridWorldEnv):
            raise ValueError(f"{env_id!r} is not a GridWorldEnv")
        transitions, rewards = grid.transition_matrix(), grid.reward_vector()
        size = grid.size
    finally:
        env.close()
    return SoftOptimalPolicy.from_mdp(
        transitions,
        rewards,
        gamma,
        temperature,
        seed,
        name=f"gridworld{size}x{size}-soft-optimal",
        description=(
            f"Actions sampled (seed {seed}) from the soft-optimal policy softmax(Q*/T) of exact "
            f"soft value iteration on the known {size}x{size} grid (gamma={gamma}, "
            f"T={temperature})."
        ),
    )
