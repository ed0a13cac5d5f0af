"""Logged datasets: the epsilon-noisy expert, its calibration, mixtures, seeds, shipped data."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

from offline_iq.cli import app
from offline_iq.data import load_minari
from offline_iq.data.sources import shipped_datasets_dir
from offline_iq.experts.collect import REFERENCE_SEED, collect_dataset
from offline_iq.experts.controllers import make_expert, make_random_policy, rollout_returns
from offline_iq.experts.logged import MediumPolicy, calibrate_epsilon, parse_mix

LOGGED = ("cartpole", "acrobot", "lunarlander", "pendulum", "hopper", "halfcheetah")
CARTPOLE_REF = (20.36, 500.0)  # cartpole/expert-v0's reference scores


def _provenance(dataset: str | Path) -> dict:
    return json.loads(load_minari(dataset).metadata.minari_metadata["offline_iq"])


def test_medium_policy_epsilon_extremes() -> None:
    env = gym.make("CartPole-v1")
    expert, random = make_expert("CartPole-v1"), make_random_policy(env.action_space, 5)
    greedy = MediumPolicy(make_expert("CartPole-v1"), env.action_space, 0.0, seed=5)
    noisy = MediumPolicy(make_expert("CartPole-v1"), env.action_space, 1.0, seed=5)
    half = MediumPolicy(make_expert("CartPole-v1"), env.action_space, 0.5, seed=5)
    observations = np.random.default_rng(0).normal(0.0, 0.1, size=(400, 4))
    assert [greedy(o) for o in observations] == [expert(o) for o in observations]
    assert [noisy(o) for o in observations] == [random(o) for o in observations]
    differs = np.mean([half(o) != expert(o) for o in observations])
    assert 0.15 < differs < 0.35  # half the steps random, half of those disagree by chance


@pytest.mark.parametrize("epsilon", [-0.1, 1.5, float("nan")])
def test_bad_epsilon_is_named(epsilon: float) -> None:
    space = gym.spaces.Discrete(2)
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]"):
        MediumPolicy(make_expert("CartPole-v1"), space, epsilon, seed=0)
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]"):
        collect_dataset(
            "CartPole-v1", dataset_id="t/m-v0", n_episodes=1, policy="medium", epsilon=epsilon
        )


def test_calibration_lands_near_the_target_on_reference_seeds() -> None:
    calibration = calibrate_epsilon(
        "CartPole-v1",
        lambda: make_expert("CartPole-v1"),
        *CARTPOLE_REF,
        seed=REFERENCE_SEED,
        episodes=20,
        evaluations=6,
    )
    assert len(calibration.table) == 6 and 0.0 < calibration.epsilon < 1.0
    assert calibration.seeds == (REFERENCE_SEED, REFERENCE_SEED + 19)
    assert abs(calibration.score - 0.5) < 0.1
    # CartPole's score falls steeply near epsilon 0.45: the bisection closes in on it
    assert [row["epsilon"] for row in calibration.table][:3] == [0.5, 0.25, 0.375]
    # the measured score is reproducible: the same epsilon and seeds give the same returns
    space = gym.spaces.Discrete(2)
    policy = MediumPolicy(make_expert("CartPole-v1"), space, calibration.epsilon, REFERENCE_SEED)
    again = np.mean(rollout_returns("CartPole-v1", policy, 20, REFERENCE_SEED))
    assert again == pytest.approx(calibration.mean_return)


def test_mixed_dataset_is_shuffled_and_labels_sources_in_metadata() -> None:
    collect_dataset(
        "CartPole-v1",
        dataset_id="test/mixed-v0",
        policy="mixed",
        mix="random=4,medium=3,expert=2",
        epsilon=0.3,
        seed=500_000,
        reference_episodes=2,
        show_progress=False,
    )
    data = load_minari("test/mixed-v0")
    provenance = _provenance("test/mixed-v0")
    labels = provenance["episodes"]
    sources = [row["source"] for row in labels]
    assert provenance["mix"] == {"random": 4, "medium": 3, "expert": 2}
    assert sorted(sources) == sorted(["random"] * 4 + ["medium"] * 3 + ["expert"] * 2)
    runs = 1 + sum(a != b for a, b in itertools.pairwise(sources))
    assert runs > 3  # interleaved, not three blocks
    assert [row["seed"] for row in labels] == list(range(500_000, 500_009))
    assert provenance["episode_seeds"] == [500_000, 500_008] and provenance["epsilon"] == 0.3
    assert len(data.episodes) == 9
    for row, episode in zip(labels, data.episodes, strict=True):
        assert float(np.sum(episode.rewards)) == pytest.approx(row["return"])
        if row["source"] == "expert":
            assert row["return"] == 500.0


def test_logged_seeds_must_avoid_other_datasets_references_and_evaluation() -> None:
    for seed, owner in (
        (0, "cartpole/expert-v0"),
        (100_020, "cartpole/random-v0"),
        (10_500, "evaluation seeds"),
        (REFERENCE_SEED + 3, "reference seeds"),
    ):
        with pytest.raises(ValueError, match=f"overlap the seeds .* of .*{owner}"):
            collect_dataset(
                "CartPole-v1",
                dataset_id="t/medium-v0",
                n_episodes=5,
                policy="medium",
                epsilon=0.2,
                seed=seed,
            )


def test_bad_arguments_name_the_problem() -> None:
    def collect(**kw: object) -> None:
        collect_dataset("CartPole-v1", dataset_id="t/x-v0", n_episodes=1, **kw)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match=r"policy must be one of .*'medium', 'mixed', got 'nope'"):
        collect(policy="nope")
    with pytest.raises(ValueError, match="apply to policy 'medium' or 'mixed', not 'expert'"):
        collect(epsilon=0.2)
    with pytest.raises(ValueError, match="give epsilon or target_score, not both"):
        collect(policy="medium", epsilon=0.2, target_score=0.5)
    with pytest.raises(ValueError, match=r"target_score must be in \[0, 1\]"):
        collect(policy="medium", target_score=2.0)
    with pytest.raises(ValueError, match="unknown mix source 'oracle'"):
        parse_mix("random=2,oracle=1")
    with pytest.raises(ValueError, match="mix count for 'random' is not an integer"):
        parse_mix("random=x")
    with pytest.raises(ValueError, match="mix applies to policy 'mixed'"):
        collect(policy="medium", epsilon=0.1, mix="random=1")
    result = CliRunner().invoke(
        app, ["collect", "CartPole-v1", "--dataset-id", "t/x-v0", "--policy", "oracle"]
    )
    assert result.exit_code != 0 and "policy must be one of" in result.output
    medium = ["collect", "CartPole-v1", "--dataset-id", "t/x-v0", "--policy", "medium"]
    result = CliRunner().invoke(app, [*medium, "--epsilon", "1.5", "--seed", "200000"])
    assert result.exit_code != 0 and "epsilon must be in [0, 1]" in result.output


def test_reference_scores_are_reused_and_verified(minari_store: Path) -> None:
    collect_dataset(
        "CartPole-v1",
        dataset_id="ref/expert-v0",
        n_episodes=1,
        reference_episodes=2,
        show_progress=False,
    )
    kw = {"n_episodes": 1, "policy": "medium", "epsilon": 0.1, "seed": 400_000}
    medium = collect_dataset("CartPole-v1", dataset_id="ref/medium-v0", show_progress=False, **kw)  # type: ignore[arg-type]
    expert_meta = minari_store / "ref/expert-v0/data/metadata.json"
    meta = json.loads(expert_meta.read_text())
    assert medium.storage.metadata["ref_max_score"] == meta["ref_max_score"]
    assert _provenance("ref/medium-v0")["reference_dataset"] == "ref/expert-v0"
    meta["ref_max_score"] = 499.0  # as if the expert had changed since
    expert_meta.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="differ from their recomputation"):
        collect_dataset(
            "CartPole-v1",
            dataset_id="ref/medium-v0",
            verify_reference=True,
            **kw,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("kind", ["medium", "mixed"])
@pytest.mark.parametrize("name", LOGGED)
def test_shipped_logged_datasets_share_the_expert_normalisation(name: str, kind: str) -> None:
    data = load_minari(f"{name}/{kind}-v0")
    expert = json.loads(
        (shipped_datasets_dir() / name / "expert-v0/data/metadata.json").read_text()
    )
    provenance = _provenance(f"{name}/{kind}-v0")
    expert_provenance = json.loads(expert["offline_iq"])
    assert data.metadata.env_spec is not None
    assert data.metadata.env_spec.id == expert_provenance["env_id"]
    assert provenance["env_kwargs"] == expert_provenance["env_kwargs"]
    assert data.metadata.ref_min_score == expert["ref_min_score"]
    assert data.metadata.ref_max_score == expert["ref_max_score"]
    assert 0.0 < provenance["epsilon"] < 1.0
    first, last = provenance["episode_seeds"]
    assert first >= 200_000 and last < REFERENCE_SEED and len(data.episodes) == last - first + 1
    if kind == "medium":
        assert abs(provenance["calibration"]["normalised_score"] - 0.5) < 0.15
        assert 0.2 < provenance["normalised_score"] < 0.8
    else:
        sources = [row["source"] for row in provenance["episodes"]]
        assert {s: sources.count(s) for s in set(sources)} == {
            k: v for k, v in provenance["mix"].items() if v
        }
