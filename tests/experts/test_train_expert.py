"""offline-iq train-expert: chunks, checkpoints, resume."""

from __future__ import annotations

import json
from pathlib import Path

import d3rlpy
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from offline_iq.cli import app
from offline_iq.data import load_minari
from offline_iq.experts.collect import collect_dataset
from offline_iq.experts.train import train_expert

runner = CliRunner(env={"COLUMNS": "200"})


def test_train_expert_checkpoints_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "pendulum"
    args = ["train-expert", "Pendulum-v1", "--chunk-steps", "150", "--out", str(out)]
    first = runner.invoke(app, [*args, "--steps", "300"])
    assert first.exit_code == 0, first.output
    state = json.loads((out / "state.json").read_text())
    assert state["steps_done"] == 300 and len(state["evaluations"]) == 2
    assert (out / "model.d3").is_file() and (out / "buffer.h5").is_file()
    second = runner.invoke(app, [*args, "--steps", "450"])
    assert second.exit_code == 0, second.output
    assert "resuming" in second.output
    assert json.loads((out / "state.json").read_text())["steps_done"] == 450
    bad = runner.invoke(app, ["train-expert", "Pendulum-v1", "--algo", "ppo", "--out", str(out)])
    assert bad.exit_code != 0 and "unknown expert algorithm 'ppo'" in bad.output


def test_best_checkpoint_collects_as_an_expert(tmp_path: Path) -> None:
    out = tmp_path / "pendulum"
    args = ["train-expert", "Pendulum-v1", "--chunk-steps", "100", "--steps", "200"]
    assert runner.invoke(app, [*args, "--out", str(out)]).exit_code == 0
    state = json.loads((out / "state.json").read_text())
    returns = [r for _, r in state["evaluations"]]
    assert state["best"]["return"] == max(returns)
    assert state["best"]["steps"] == state["evaluations"][returns.index(max(returns))][0]
    best = out / "best.d3"
    assert best.is_file()
    collect_dataset("Pendulum-v1", dataset_id="test/trained-v0", n_episodes=2, root=tmp_path,
                    reference_episodes=1, show_progress=False, expert_model=best)  # fmt: skip
    data = load_minari(tmp_path / "test/trained-v0")
    model = d3rlpy.load_learnable(str(best))
    for episode in data.episodes:  # every recorded action is the model's greedy action
        np.testing.assert_allclose(
            episode.actions, model.predict(episode.observations), rtol=1e-5, atol=1e-6
        )
    assert json.loads(data.metadata.minari_metadata["offline_iq"])["controller"].endswith("best")
    with pytest.raises(ValueError, match=r"expert model '.*missing\.d3' does not exist"):
        collect_dataset("Pendulum-v1", dataset_id="test/x-v0", n_episodes=1, root=tmp_path,
                        expert_model=tmp_path / "missing.d3")  # fmt: skip


def _policy_weights(path: Path) -> dict[str, torch.Tensor]:
    return {
        k: v.clone() for k, v in d3rlpy.load_learnable(str(path)).impl.policy.state_dict().items()
    }


def test_resume_without_buffer_refills_before_updating(tmp_path: Path) -> None:
    out, logs = tmp_path / "pendulum", list[str]()
    common = {"chunk_steps": 200, "eval_episodes": 1, "refill_steps": 400, "log": logs.append}
    train_expert("Pendulum-v1", out, steps=300, **common)  # type: ignore[arg-type]
    (out / "buffer.h5").unlink()  # what a fresh clone of a committed checkpoint has
    trained = _policy_weights(out / "model.d3")
    # two chunks of refill: d3rlpy would update from the 257th transition (batch 256) without it
    train_expert("Pendulum-v1", out, steps=700, **common)  # type: ignore[arg-type]
    assert any("refilling 400 steps" in str(line) for line in logs)
    refilled = _policy_weights(out / "model.d3")
    assert all(torch.equal(trained[k], refilled[k]) for k in trained)
    train_expert("Pendulum-v1", out, steps=900, **common)  # type: ignore[arg-type]
    updated = _policy_weights(out / "model.d3")
    assert not all(torch.equal(refilled[k], updated[k]) for k in refilled)


def test_from_best_restarts_from_the_best_weights_and_records_it(tmp_path: Path) -> None:
    out, logs = tmp_path / "pendulum", list[str]()
    common = {"chunk_steps": 150, "eval_episodes": 1, "refill_steps": 150, "log": logs.append}
    with pytest.raises(ValueError, match="holds no run to restart from"):
        train_expert("Pendulum-v1", out, steps=150, from_best=True, **common)  # type: ignore[arg-type]
    train_expert("Pendulum-v1", out, steps=150, **common)  # type: ignore[arg-type]
    early = tmp_path / "early.d3"
    early.write_bytes((out / "model.d3").read_bytes())
    train_expert("Pendulum-v1", out, steps=300, **common)  # type: ignore[arg-type]
    # make the early model the best one, whatever the two evaluations said
    (out / "best.d3").write_bytes(early.read_bytes())
    state = json.loads((out / "state.json").read_text())
    state["best"] = {"steps": 150, "return": -1.0, "std": 0.0}
    (out / "state.json").write_text(json.dumps(state))
    assert not all(
        torch.equal(a, b)
        for a, b in zip(
            _policy_weights(early).values(),
            _policy_weights(out / "model.d3").values(),
            strict=True,
        )
    )
    (out / "buffer.h5").unlink()  # the refill chunk makes no update: the weights stay the best's
    train_expert("Pendulum-v1", out, steps=450, from_best=True, **common)  # type: ignore[arg-type]
    restarted, best = _policy_weights(out / "model.d3"), _policy_weights(early)
    assert all(torch.equal(restarted[k], best[k]) for k in best)
    state = json.loads((out / "state.json").read_text())
    assert state["steps_done"] == 450 and [s for s, _ in state["evaluations"]] == [150, 300, 450]
    assert state["restarts"] == [{"at_step": 300, "weights_from_step": 150, "weights_return": -1.0}]
    assert any("with the weights of best.d3 (step 150" in str(line) for line in logs)


def test_env_kwargs_are_stored_reused_on_resume_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gymnasium as gym

    made: list[dict[str, object]] = []
    real_make = gym.make

    def recording_make(env_id: str, **kwargs: object) -> gym.Env:
        made.append(kwargs)
        return real_make(env_id, **kwargs)

    monkeypatch.setattr("offline_iq.experts.train.gym.make", recording_make)
    out = tmp_path / "pendulum"
    args = ["train-expert", "Pendulum-v1", "--chunk-steps", "150", "--out", str(out)]
    first = runner.invoke(app, [*args, "--steps", "150", "-e", "g=5.0"])
    assert first.exit_code == 0, first.output
    assert json.loads((out / "state.json").read_text())["env_kwargs"] == {"g": 5.0}
    assert made and all(kwargs == {"g": 5.0} for kwargs in made)
    made.clear()
    resumed = runner.invoke(app, [*args, "--steps", "300"])  # no -e: the stored ones
    assert resumed.exit_code == 0, resumed.output
    assert made and all(kwargs == {"g": 5.0} for kwargs in made)
    other = runner.invoke(app, [*args, "--steps", "450", "-e", "g=9.8"])
    assert other.exit_code != 0 and "trained with env_kwargs" in other.output
    assert json.loads((out / "state.json").read_text())["steps_done"] == 300
    malformed = runner.invoke(app, [*args, "--steps", "450", "-e", "g"])
    assert malformed.exit_code != 0 and "--env-kwarg must look like KEY=VALUE" in malformed.output
