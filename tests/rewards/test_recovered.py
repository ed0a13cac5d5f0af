"""RecoveredReward: agreement with the learner's own Q and V, predict vs forward, save/load."""

from __future__ import annotations

from pathlib import Path

import d3rlpy
import numpy as np
import pytest
import torch

import offline_iq
from offline_iq import load_minari
from offline_iq.rewards import RecoveredReward


def _fit(config: object, dataset: str, steps: int = 60) -> tuple[object, object]:
    d3rlpy.seed(0)
    data = load_minari(dataset, n_trajectories=2)
    algo = config.create(device="cpu:0")  # type: ignore[attr-defined]
    algo.fit(data, n_steps=steps, n_steps_per_epoch=steps, show_progress=False,
             logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip
    return algo, data


@pytest.fixture(scope="module")
def discrete() -> tuple[object, object]:
    return _fit(offline_iq.DiscreteIQLearnConfig(batch_size=64), "cartpole/expert-v0")


@pytest.fixture(scope="module")
def continuous() -> tuple[object, object]:
    return _fit(offline_iq.IQLearnConfig(batch_size=64), "pendulum/expert-v0")


def test_discrete_reward_is_q_minus_gamma_soft_v(discrete: tuple[object, object]) -> None:
    algo, data = discrete
    t = data.transitions  # type: ignore[attr-defined]
    reward = RecoveredReward.from_algo(algo)
    got = reward.predict(t.observations[:32], t.actions[:32, 0], t.next_observations[:32],
                         t.terminals[:32, 0])  # fmt: skip
    # by hand from the learner's public API: Q(s, a) and softmax temperature
    impl = algo.impl  # type: ignore[attr-defined]
    scaler = algo.config.observation_scaler  # type: ignore[attr-defined]
    with torch.no_grad():
        q = impl.q_values(scaler.transform(torch.as_tensor(t.observations[:32])))
        next_q = impl.q_values(scaler.transform(torch.as_tensor(t.next_observations[:32])))
    temp, gamma = impl.temperature, algo.config.gamma  # type: ignore[attr-defined]
    next_v = temp * torch.logsumexp(next_q / temp, dim=1).numpy()
    expected = (
        q.numpy()[np.arange(32), t.actions[:32, 0].astype(int)]
        - gamma * (1 - t.terminals[:32, 0]) * next_v
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # a termination removes the bootstrap
    ended = reward.predict(t.observations[:1], t.actions[:1, 0], t.next_observations[:1], [1.0])
    assert ended[0] == pytest.approx(float(q[0, int(t.actions[0, 0])]), rel=1e-5)


@pytest.mark.parametrize("which", ["discrete", "continuous"])
def test_forward_predict_and_save_load_agree(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    algo, data = request.getfixturevalue(which)
    t = data.transitions  # type: ignore[attr-defined]
    reward = RecoveredReward.from_algo(algo)
    act = t.actions[:16, 0] if which == "discrete" else t.actions[:16]
    args = (t.observations[:16], act, t.next_observations[:16], t.terminals[:16, 0])
    predicted = reward.predict(*args)
    assert predicted.shape == (16,) and np.all(np.isfinite(predicted))
    np.testing.assert_array_equal(reward.predict(*args), predicted)  # deterministic
    with torch.no_grad():
        forward = reward.forward(*(torch.as_tensor(np.asarray(a, dtype=np.float32)) for a in args))
    np.testing.assert_allclose(forward.numpy(), predicted, rtol=1e-6)
    reward.save(tmp_path / "reward.pt")
    loaded = RecoveredReward.load(tmp_path / "reward.pt")
    np.testing.assert_allclose(loaded.predict(*args), predicted, rtol=1e-5, atol=1e-6)
    assert loaded.observation_shape == reward.observation_shape


def test_predict_checks_shapes(discrete: tuple[object, object]) -> None:
    algo, data = discrete
    t = data.transitions  # type: ignore[attr-defined]
    reward = RecoveredReward.from_algo(algo)
    with pytest.raises(ValueError, match=r"obs must have shape \(B, 4\)"):
        reward.predict(t.observations[:4, :3], t.actions[:4, 0], t.next_observations[:4])
    with pytest.raises(ValueError, match="next_obs has 3 rows, obs has 4"):
        reward.predict(t.observations[:4], t.actions[:4, 0], t.next_observations[:3])
    with pytest.raises(ValueError, match="integer actions"):
        reward.predict(t.observations[:4], np.full(4, 0.5), t.next_observations[:4])


def test_only_iq_learn_has_a_recovered_reward() -> None:
    algo, _ = _fit(d3rlpy.algos.DiscreteBCConfig(), "cartpole/expert-v0", steps=2)
    with pytest.raises(TypeError, match="not DiscreteBC"):
        RecoveredReward.from_algo(algo)
