"""The shipped datasets load, are experts, and match the controllers' measured returns."""

from __future__ import annotations

import pytest

from offline_iq.data import load_minari
from offline_iq.data.catalog import summarize_dataset
from offline_iq.data.sources import shipped_datasets_dir
from offline_iq.experts.shipped import SHIPPED

# Mean expert return over the 50 shipped episodes must reach these (measured in the notes of
# issue 2; thresholds sit just under the controllers' 20-episode figures minus noise).
EXPERT_FLOOR = {
    "cartpole": 500.0,
    "acrobot": -90.0,
    "mountaincar": -110.0,
    "pendulum": -160.0,
    "mountaincarcontinuous": 97.0,
    "lunarlander": 240.0,
    "lunarlandercontinuous": 260.0,
    "gridworld": 16.0,
    "gridworld10x10": 24.0,
    "hopper": 2900.0,  # SAC expert (experts/Hopper-v5/best.d3): 3069 ± 444 over 25 episodes
    "halfcheetah": 5000.0,  # SAC expert at 110k steps: 5465.6 ± 102.3 over 25 episodes
    "walker2d": 4000.0,  # issue 19's bar; SAC expert at 330k steps: 4388.8 ± 84.3 over 25
    # SAC at 470k (27 observations): 3755.6 ± 1208.5 over these 25, 3853.5 over the 50 reference
    # episodes: an expert, short of issue 19's 4000 bar (said in README and the issue's notes)
    "ant": 3500.0,
}


@pytest.mark.parametrize("spec", SHIPPED, ids=lambda s: s.name)
def test_shipped_pair(spec: object) -> None:
    from offline_iq.experts.shipped import ShippedDataset

    assert isinstance(spec, ShippedDataset)
    root = shipped_datasets_dir()
    expert = summarize_dataset(root / spec.dataset_id("expert") / "data", "shipped")
    random = summarize_dataset(root / spec.dataset_id("random") / "data", "shipped")
    assert expert.episodes >= spec.episodes and random.episodes >= spec.episodes
    assert expert.mean_return >= EXPERT_FLOOR[spec.name]
    assert expert.mean_return > random.mean_return
    # both datasets of an environment share the same reference scores
    assert expert.ref_max_score == random.ref_max_score
    assert expert.ref_min_score == random.ref_min_score
    data = load_minari(spec.dataset_id("expert"))
    assert len(data.transitions) == expert.steps
    assert data.metadata.env_spec is not None and data.metadata.env_spec.id == spec.env_id


@pytest.mark.parametrize("spec", [s for s in SHIPPED if s.tuning_episodes], ids=lambda s: s.name)
def test_tuning_dataset_is_the_same_expert_on_other_reset_seeds(spec: object) -> None:
    import json

    from offline_iq.experts.shipped import TUNING_SEED, ShippedDataset

    assert isinstance(spec, ShippedDataset)
    root = shipped_datasets_dir()
    expert = summarize_dataset(root / spec.dataset_id("expert") / "data", "shipped")
    tuning = summarize_dataset(root / spec.tuning_dataset_id() / "data", "shipped")
    assert tuning.episodes == spec.tuning_episodes
    assert tuning.mean_return >= EXPERT_FLOOR[spec.name]
    # scored against the same reference episodes as expert-v0
    assert (tuning.ref_max_score, tuning.ref_min_score) == (
        expert.ref_max_score,
        expert.ref_min_score,
    )

    def seeds(dataset_id: str) -> range:
        metadata = json.loads((root / dataset_id / "data" / "metadata.json").read_text())
        first, last = json.loads(metadata["offline_iq"])["episode_seeds"]
        return range(first, last + 1)

    assert seeds(spec.tuning_dataset_id())[0] == TUNING_SEED
    for kind in ("expert", "random", *(("medium", "mixed") if spec.logged else ())):
        assert not set(seeds(spec.tuning_dataset_id())) & set(seeds(spec.dataset_id(kind)))
    # the expert's falls are in it, as in expert-v0, so tuning runs meet them too
    data = load_minari(spec.tuning_dataset_id())
    assert any(bool(episode.terminated) for episode in data.episodes)
