"""Composite observation spaces flatten exactly as gymnasium.spaces.flatten flattens a sample."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from offline_iq.data.spaces import actions_to_array, observations_to_array


def test_dict_and_tuple_match_gymnasium_flatten() -> None:
    space = gym.spaces.Dict(
        {
            "pos": gym.spaces.Box(-1, 1, (2,), np.float32),
            "mode": gym.spaces.Discrete(3, start=1),
            "flags": gym.spaces.Tuple((gym.spaces.MultiBinary(2), gym.spaces.Box(0, 5, (1, 2)))),
        }
    )
    space.seed(0)
    samples = [space.sample() for _ in range(5)]
    batch = {
        "pos": np.stack([s["pos"] for s in samples]),
        "mode": np.array([s["mode"] for s in samples]),
        "flags": (
            np.stack([s["flags"][0] for s in samples]),
            np.stack([s["flags"][1] for s in samples]),
        ),
    }
    expected = np.stack([gym.spaces.flatten(space, s) for s in samples]).astype(np.float32)
    np.testing.assert_allclose(observations_to_array(space, batch), expected)


def test_discrete_observations_become_one_hot() -> None:
    out = observations_to_array(gym.spaces.Discrete(4), np.array([0, 3, 1]))
    np.testing.assert_array_equal(out, np.eye(4, dtype=np.float32)[[0, 3, 1]])


def test_discrete_actions_shift_to_zero_based_indices() -> None:
    out = actions_to_array(gym.spaces.Discrete(3, start=-1), np.array([-1, 1, 0]))
    np.testing.assert_array_equal(out, np.array([[0], [2], [1]], dtype=np.float32))
