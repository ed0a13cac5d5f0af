"""offline-iq rewards, and the recovered-reward gymnasium wrapper."""

from __future__ import annotations

import json
from pathlib import Path

import d3rlpy
import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

import offline_iq
from offline_iq import load_minari
from offline_iq.cli import app
from offline_iq.rewards import RecoveredReward, RecoveredRewardWrapper
from offline_iq.training import RunState

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def pendulum_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d3rlpy.seed(0)
    algo = offline_iq.IQLearnConfig(batch_size=64).create(device="cpu:0")
    algo.fit(load_minari("pendulum/expert-v0", n_trajectories=2), n_steps=40, n_steps_per_epoch=40,
             show_progress=False, logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip
    path = tmp_path_factory.mktemp("model") / "iq.d3"
    algo.save(str(path))
    return path


def test_rewards_on_a_dataset_and_on_rollouts(pendulum_model: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["rewards", str(pendulum_model), "pendulum/expert-v0",
                                 "--plot", str(tmp_path / "d.png")])  # fmt: skip
    assert result.exit_code == 0, result.output
    for text in (
        "transition",
        "episode sum",
        "episode mean",
        "episode sum given length",
        "shaping removed",
        "pearson",
        "spearman",
        "resampling whole episodes",
    ):
        assert text in result.output
    # a bare .d3 file does not say which episodes it trained on
    assert "WARNING: no record of the episodes this model trained on" in result.output
    assert (tmp_path / "d.png").stat().st_size > 1000
    rollouts = runner.invoke(app, ["rewards", str(pendulum_model), "Pendulum-v1", "--episodes",
                                   "4", "--plot", str(tmp_path / "r.png")])  # fmt: skip
    assert rollouts.exit_code == 0, rollouts.output
    assert "4 rollouts in Pendulum-v1" in " ".join(rollouts.output.split())


def test_fit_records_its_episodes_and_rewards_scores_the_others(tmp_path: Path) -> None:
    out, dataset = tmp_path / "run", "acrobot/expert-v0"  # discrete: a quick reward to predict
    fit_args = ["--demos", "3", "--steps", "2", "--steps-per-epoch", "2", "--eval-episodes", "0"]
    fit = runner.invoke(app, ["fit", dataset, *fit_args, "--out", str(out)])
    assert fit.exit_code == 0, fit.output
    state = RunState.from_json((out / "state.json").read_text())
    trained = load_minari(dataset, n_trajectories=3, seed=0).transitions.episode_ids
    assert state.trained_episodes == tuple(np.unique(trained).tolist())

    def rewards(*extra: str) -> str:
        plot = ["--plot", str(tmp_path / "p.png")]
        result = runner.invoke(
            app, ["rewards", str(out), dataset, "--resamples", "100", *plot, *extra]
        )
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    held_out = rewards()
    assert "47 held-out episodes (3 training episodes left out)" in held_out
    assert "WARNING" not in held_out
    every = rewards("--split", "all")
    assert "all 50 episodes" in every
    assert "WARNING: scoring on 3 episodes the model TRAINED on (--split all)" in every
    assert "3 training episodes" in rewards("--split", "training")
    # a folder written before the record: loads, and says it cannot hold episodes out
    record = json.loads((out / "state.json").read_text())
    del record["trained_episodes"]
    (out / "state.json").write_text(json.dumps(record))
    assert RunState.from_json((out / "state.json").read_text()).trained_episodes is None
    assert "WARNING: no record of the episodes" in rewards()


def test_rewards_bad_source(pendulum_model: Path) -> None:
    result = runner.invoke(app, ["rewards", str(pendulum_model), "Nope-v9"])
    assert result.exit_code != 0
    assert "neither a Minari dataset nor a gymnasium environment id" in " ".join(
        result.output.split()
    )


def test_wrapper_replaces_the_reward_and_keeps_the_true_one(pendulum_model: Path) -> None:
    reward = RecoveredReward.from_algo(d3rlpy.load_learnable(str(pendulum_model)))
    env = RecoveredRewardWrapper(gym.make("Pendulum-v1"), reward)
    plain = gym.make("Pendulum-v1")
    obs, _ = env.reset(seed=3)
    plain.reset(seed=3)
    for _ in range(5):
        action = np.array([0.7], dtype=np.float32)
        nxt, r, terminated, _truncated, info = env.step(action)
        _, true_r, *_ = plain.step(action)
        assert info["true_reward"] == pytest.approx(true_r)
        assert r == pytest.approx(
            reward.predict(obs[None], action[None], nxt[None], [terminated])[0]
        )
        obs = nxt
    with pytest.raises(RuntimeError, match="reset"):
        RecoveredRewardWrapper(gym.make("Pendulum-v1"), reward).step(np.zeros(1))


def test_graded_rollouts_span_quality_levels(pendulum_model: Path, tmp_path: Path) -> None:
    from offline_iq.rewards.graded import collect_graded_rollouts

    class Still:  # a second behaviour: always the zero torque
        def predict(self, x: np.ndarray) -> np.ndarray:
            return np.zeros((len(x), 1), dtype=np.float32)

    env = gym.make("Pendulum-v1")
    graded = collect_graded_rollouts({"still": Still(), "again": Still()}, env, 2, seed=3)
    assert [(lv.behaviour, lv.epsilon) for lv in graded.levels][:4] == [
        ("still", 0.0), ("still", 0.25), ("still", 0.5), ("still", 1.0)
    ]  # fmt: skip
    ids = graded.sample.episode_ids
    assert len(np.unique(ids)) == 16 and len(ids) == 16 * 200
    table = graded.level_table(np.ones(len(ids)))
    assert table[0]["length"] == 200 and table[0]["recovered return"] == 200
    # the still pendulum at epsilon 0 earns the same in both copies (same seeds, no randomness)
    assert table[0]["true return"] == pytest.approx(
        graded.sample.true_rewards[ids == 0].sum() / 2
        + graded.sample.true_rewards[ids == 1].sum() / 2
    )
    with pytest.raises(ValueError, match="probabilities"):
        collect_graded_rollouts({"still": Still()}, env, 1, epsilons=(1.5,))
    result = runner.invoke(app, ["rewards", str(pendulum_model), "Pendulum-v1", "--rollouts",
                                 "graded", "--episodes", "1", "-b", str(pendulum_model),
                                 "--plot", str(tmp_path / "g.png")])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "quality levels of the graded rollouts" in text and "8 levels x 1" in text.replace(
        "(", ""
    )
    bad = runner.invoke(app, ["rewards", str(pendulum_model), "pendulum/expert-v0",
                              "--rollouts", "graded"])  # fmt: skip
    assert bad.exit_code == 2 and "needs a gymnasium environment id" in " ".join(bad.output.split())
