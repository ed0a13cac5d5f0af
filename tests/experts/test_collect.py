"""collect -> load round trip: the loaded transitions replay exactly in the environment."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from offline_iq.data import load_minari
from offline_iq.experts.collect import collect_dataset


@pytest.mark.parametrize(
    ("env_id", "policy"), [("CartPole-v1", "expert"), ("Pendulum-v1", "random")]
)
def test_collect_then_load_replays_in_the_environment(env_id: str, policy: str) -> None:
    collect_dataset(
        env_id,
        dataset_id="test/roundtrip-v0",
        n_episodes=3,
        policy=policy,  # type: ignore[arg-type]
        seed=7,
        reference_episodes=2,
        show_progress=False,
    )
    data = load_minari("test/roundtrip-v0")
    meta = data.metadata
    assert meta.ref_min_score is not None and meta.ref_max_score is not None
    assert meta.ref_max_score > meta.ref_min_score
    provenance = json.loads(meta.minari_metadata["offline_iq"])
    assert provenance["episode_seeds"] == [7, 9] and provenance["policy"] == policy
    assert len(data.episodes) == 3
    env = gym.make(env_id)
    for k, episode in enumerate(data.episodes):
        obs, _ = env.reset(seed=7 + k)
        np.testing.assert_allclose(episode.initial_observation, obs, rtol=1e-6)
        for t in range(episode.size()):
            np.testing.assert_allclose(episode.observations[t], obs, rtol=1e-6)
            act = episode.actions[t]
            action = int(act[0]) if env_id == "CartPole-v1" else act
            obs, reward, terminated, truncated, _ = env.step(action)
            np.testing.assert_allclose(episode.next_observations[t], obs, rtol=1e-6)
            assert episode.rewards[t, 0] == pytest.approx(reward, rel=1e-6)
            assert episode.terminals[t, 0] == float(terminated)
        assert terminated or truncated  # the episode ended where the data says


def test_collect_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_episodes must be >= 1"):
        collect_dataset("CartPole-v1", dataset_id="t/x-v0", n_episodes=0)
    with pytest.raises(ValueError, match="No expert controller for env 'Nope-v0'"):
        collect_dataset("Nope-v0", dataset_id="t/x-v0", n_episodes=1)


def test_collect_writes_into_a_given_root(tmp_path: Path) -> None:
    collect_dataset(
        "CartPole-v1",
        dataset_id="test/rooted-v0",
        n_episodes=1,
        root=tmp_path,
        reference_episodes=1,
        show_progress=False,
    )
    assert (tmp_path / "test/rooted-v0/data/metadata.json").is_file()
    assert len(load_minari(tmp_path / "test/rooted-v0").episodes) == 1
