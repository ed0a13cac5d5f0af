"""An online run's replay buffer on disk keeps the capacity it was made with."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from offline_iq.data.replay_checkpoint import load_or_create_replay_buffer, save_replay_buffer


def test_capacity_holds_fresh_and_reloaded(tmp_path: Path) -> None:
    env, path = gym.make("Pendulum-v1"), tmp_path / "buffer.h5"
    buffer = load_or_create_replay_buffer(path, env, capacity=5)
    for step in range(8):  # a cut episode of 8 observations: 7 transitions, the first 2 evicted
        buffer.append(np.full(3, step, np.float32), np.zeros(1, np.float32), float(step))
    buffer.clip_episode(False)
    assert buffer.transition_count == 5
    save_replay_buffer(buffer, path)
    reloaded = load_or_create_replay_buffer(path, env, capacity=5)
    assert reloaded.transition_count == 5
    for kept in (buffer, reloaded):  # only the last 5 transitions (rewards 2-6) are drawn
        assert set(np.unique(kept.sample_transition_batch(64).rewards)) <= {2.0, 3.0, 4.0, 5.0, 6.0}
    with pytest.raises(ValueError, match="replay capacity must be >= 1"):
        load_or_create_replay_buffer(tmp_path / "none.h5", env, capacity=0)
