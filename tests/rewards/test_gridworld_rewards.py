"""State-reward maps on the GridWorld, and their heatmap."""

from __future__ import annotations

from pathlib import Path

import d3rlpy
import numpy as np
import pytest

import offline_iq
from offline_iq import load_minari
from offline_iq.rewards import RecoveredReward
from offline_iq.rewards.gridworld import plot_state_rewards, recovered_state_rewards


def test_state_reward_map_averages_transition_rewards(tmp_path: Path) -> None:
    d3rlpy.seed(0)
    data = load_minari("gridworld/expert-v0")
    iq = offline_iq.DiscreteIQLearnConfig(batch_size=32, gamma=0.9, value_objective="v0",
                                          observation_scaler=None).create()  # fmt: skip
    iq.fit(data, n_steps=30, n_steps_per_epoch=30, show_progress=False,
           logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip
    reward = RecoveredReward.from_algo(iq)
    env = data.metadata.make_env()
    grid = env.unwrapped
    uniform = recovered_state_rewards(reward, env)
    assert uniform.shape == (5, 5)
    # cell (1, 2) = state 7 by hand: mean over the 5 actions of r(s, a, s'(s, a))
    eye = np.eye(25, dtype=np.float32)
    nxt = [grid.next_state(7, a) for a in range(5)]
    by_hand = reward.predict(eye[[7] * 5], np.arange(5), eye[nxt], np.zeros(5)).mean()
    assert abs(uniform[1, 2] - by_hand) < 1e-6
    stay = np.zeros((25, 5))
    stay[:, 4] = 1.0  # all weight on "stay": r(s, stay, s)
    only_stay = recovered_state_rewards(reward, env, stay)
    expected = reward.predict(eye, np.full(25, 4), eye, np.zeros(25)).reshape(5, 5)
    np.testing.assert_allclose(only_stay, expected, rtol=1e-6)
    out = plot_state_rewards(grid.state_rewards, uniform, tmp_path / "g.png", title="t")
    assert out.stat().st_size > 1000


def test_recover_state_rewards_rejects_other_environments() -> None:
    from offline_iq.rewards.gridworld import learned_policy, recover_state_rewards

    with pytest.raises(ValueError, match="needs GridWorld data, got env 'CartPole-v1'"):
        recover_state_rewards(load_minari("cartpole/expert-v0", n_trajectories=1), n_steps=1)
    with pytest.raises(ValueError, match="needs a fitted algorithm"):
        learned_policy(offline_iq.DiscreteIQLearnConfig().create(), 25)
