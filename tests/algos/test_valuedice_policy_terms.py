"""ValueDICE's policy-side terms: the entropy bonus's sign and the orthogonal penalty."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path
from typing import Any

import d3rlpy
import pytest
import torch
from torch import nn

import offline_iq
from offline_iq.algos.penalties import orthogonal_regularization
from offline_iq.preprocessing import fit_observation_scaler

N_UPDATES = 100


@pytest.fixture(scope="module")
def cartpole() -> offline_iq.ExpertReplayBuffer:
    return offline_iq.load_minari("cartpole/expert-v0", n_trajectories=1)


@pytest.fixture(scope="module")
def pendulum() -> offline_iq.ExpertReplayBuffer:
    return offline_iq.load_minari("pendulum/expert-v0", n_trajectories=1)


def _fit(algo: Any, data: offline_iq.ExpertReplayBuffer, n_steps: int) -> dict[str, float]:
    ((_, metrics),) = algo.fit(
        data,
        n_steps=n_steps,
        n_steps_per_epoch=n_steps,
        show_progress=False,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
    )
    return metrics  # type: ignore[no-any-return]


def _scaled_observations(algo: Any, data: offline_iq.ExpertReplayBuffer) -> torch.Tensor:
    obs = torch.as_tensor(data.transitions.observations, dtype=torch.float32)
    return algo.config.observation_scaler.transform(obs)  # type: ignore[no-any-return]


def _entropy(algo: Any, data: offline_iq.ExpertReplayBuffer) -> float:
    """Mean policy entropy over the dataset's states (exact for the categorical policy, the
    seeded sample mean of -log pi(a|s) for the squashed Gaussian)."""
    obs = _scaled_observations(algo, data)
    with torch.no_grad():
        if isinstance(algo, offline_iq.DiscreteValueDICE):
            probs = algo.impl.policy(obs).probs
            return float(-(probs * probs.clamp_min(1e-12).log()).sum(dim=1).mean())
        torch.manual_seed(0)
        _, log_prob = algo.impl._dist(obs).sample_with_log_prob()
        return float(-log_prob.mean())


def _entropies_with_nu_frozen(
    make_config: Any, data: offline_iq.ExpertReplayBuffer, entropy_weight: float
) -> tuple[float, float]:
    """Entropy before and after ``N_UPDATES`` updates of the policy against a fixed nu."""
    d3rlpy.seed(0)
    algo = make_config(nu_learning_rate=0.0, entropy_weight=entropy_weight).create(device="cpu:0")
    fit_observation_scaler(algo.config.observation_scaler, data)  # as fit will
    algo.build_with_dataset(data)
    before = _entropy(algo, data)
    nu = [param.detach().clone() for param in algo.impl.q_function.parameters()]
    _fit(algo, data, N_UPDATES)
    after = _entropy(algo, data)
    frozen = zip(nu, algo.impl.q_function.parameters(), strict=True)
    assert all(torch.equal(old, new) for old, new in frozen)  # nu_learning_rate=0 froze nu
    return before, after


def test_discrete_entropy_bonus_raises_entropy_with_nu_frozen(
    cartpole: offline_iq.ExpertReplayBuffer,
) -> None:
    # measured: without the bonus the entropy falls from log 2 to 0.15 in 100 updates; with
    # w = 1000 it stays at 0.693 (with the bonus's sign reversed, as before, it fell to 0.25)
    def make(**kwargs: Any) -> offline_iq.DiscreteValueDICEConfig:
        return offline_iq.DiscreteValueDICEConfig(batch_size=64, **kwargs)

    before, plain = _entropies_with_nu_frozen(make, cartpole, 0.0)
    assert before == pytest.approx(math.log(2), abs=0.02)  # a fresh policy is near uniform
    _, bonus = _entropies_with_nu_frozen(make, cartpole, 1000.0)
    assert bonus > 0.6
    assert bonus > plain + 0.3


def test_continuous_entropy_bonus_raises_entropy_with_nu_frozen(
    pendulum: offline_iq.ExpertReplayBuffer,
) -> None:
    # measured (actor lr 1e-4): from 0.65 to -1.92 without the bonus, 0.68 with w = 1000
    # (-7.1 with the bonus's sign reversed, as before)
    def make(**kwargs: Any) -> offline_iq.ValueDICEConfig:
        return offline_iq.ValueDICEConfig(batch_size=64, actor_learning_rate=1e-4, **kwargs)

    before, plain = _entropies_with_nu_frozen(make, pendulum, 0.0)
    _, bonus = _entropies_with_nu_frozen(make, pendulum, 1000.0)
    assert bonus > before - 0.1
    assert bonus > plain + 1.0


def test_each_player_descends_its_own_loss(cartpole: offline_iq.ExpertReplayBuffer) -> None:
    """After one update the gradients left on nu are those of J + lambda GP, and those on the
    policy those of -(J + w H - c R): the one-pass trick gives each player its own loss."""
    w, c, gp_weight = 3.0, 0.5, 10.0
    algo = offline_iq.DiscreteValueDICEConfig(
        batch_size=32,
        actor_learning_rate=0.0,  # parameters stay put, so the gradients can be recomputed
        nu_learning_rate=0.0,
        gp_weight=gp_weight,
        entropy_weight=w,
        orthogonal_regularization=c,
    ).create(device="cpu:0")
    _fit(algo, cartpole, 1)  # builds the model and fits the scaler
    impl = algo.impl
    batch = algo._torch_batch(cartpole.sample_transition_batch(32), None)
    torch.manual_seed(1)
    metrics = impl.inner_update(batch, 0)
    policy, nu = list(impl.policy.parameters()), list(impl.q_function.parameters())
    got_policy = [p.grad.clone() for p in policy]
    got_nu = [p.grad.clone() for p in nu]

    torch.manual_seed(1)  # the same penalty interpolates
    loss, penalty, entropy = impl.compute_objective(batch)
    ortho = orthogonal_regularization(impl.policy)
    assert metrics["orthogonal_penalty"] == pytest.approx(ortho.item())
    assert metrics["entropy"] == pytest.approx(entropy.item())
    policy_loss = -(loss.objective + w * entropy - c * ortho)
    nu_loss = loss.objective + gp_weight * penalty
    want_policy = torch.autograd.grad(policy_loss, policy, retain_graph=True)
    want_nu = torch.autograd.grad(nu_loss, nu)
    for got, want in zip(got_policy + got_nu, [*want_policy, *want_nu], strict=True):
        torch.testing.assert_close(got, want)


def test_orthogonal_regularization_by_hand() -> None:
    # Linear(3 -> 2), torch weight rows = units: w1 = (1, 2, 0), w2 = (0, 1, 1).
    # Gram W W^T = [[5, 2], [2, 2]]; off-diagonal squared: 2 * 2^2 = 8.
    # (W^T W, the 3 x 3 Gram of the inputs' columns (1, 0), (2, 1), (0, 1), would give
    # 2 * (2^2 + 0^2 + 1^2) = 10: the penalty is between units, as in Brock et al.)
    # Linear(2 -> 2) with rows (1, 1), (1, -1): orthogonal, 0 whatever its bias.
    # Conv1d(1 -> 2, kernel 2), kernels flattened to (1, 1), (1, 0): 2 * 1^2 = 2.
    # Linear(2 -> 1): a single unit has no pair, 0.  Total: 8 + 0 + 2 + 0 = 10.
    first, second, last = nn.Linear(3, 2), nn.Linear(2, 2), nn.Linear(2, 1)
    conv = nn.Conv1d(1, 2, kernel_size=2)
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]]))
        second.weight.copy_(torch.tensor([[1.0, 1.0], [1.0, -1.0]]))
        second.bias.fill_(5.0)
        conv.weight.copy_(torch.tensor([[[1.0, 1.0]], [[1.0, 0.0]]]))
        last.weight.copy_(torch.tensor([[3.0, 4.0]]))
    net = nn.Sequential(first, nn.ReLU(), second, nn.LayerNorm(2), conv, last)
    penalty = orthogonal_regularization(net)
    assert penalty.item() == pytest.approx(10.0)
    # d/dw_i sum_{k != l} (w_k . w_l)^2 = 4 sum_{j != i} (w_i . w_j) w_j:
    # first layer: row 1 -> 4 * 2 * (0, 1, 1) = (0, 8, 8); row 2 -> 4 * 2 * (1, 2, 0) = (8, 16, 0)
    penalty.backward()
    assert first.weight.grad is not None and first.bias.grad is None
    assert first.weight.grad.tolist() == [[0.0, 8.0, 8.0], [8.0, 16.0, 0.0]]
    assert orthogonal_regularization(nn.ReLU()).item() == 0.0  # no weights, no penalty


def test_orthogonal_penalty_is_logged_and_pushes_units_apart(
    cartpole: offline_iq.ExpertReplayBuffer,
) -> None:
    def penalty_after(coefficient: float) -> tuple[float, float]:
        d3rlpy.seed(0)
        algo = offline_iq.DiscreteValueDICEConfig(
            batch_size=32, actor_learning_rate=1e-3, orthogonal_regularization=coefficient
        ).create(device="cpu:0")
        metrics = _fit(algo, cartpole, 20)
        return metrics["orthogonal_penalty"], orthogonal_regularization(algo.impl.policy).item()

    logged, plain = penalty_after(0.0)
    assert logged > 0  # logged even when it does not enter the loss
    _, pushed = penalty_after(1.0)
    assert pushed < plain


def test_paper_default_and_models_saved_without_the_field_load(
    cartpole: offline_iq.ExpertReplayBuffer, tmp_path: Path
) -> None:
    assert offline_iq.ValueDICEConfig().orthogonal_regularization == 1e-4  # the paper's
    algo = offline_iq.DiscreteValueDICEConfig().create(device="cpu:0")
    fit_observation_scaler(algo.config.observation_scaler, cartpole)
    algo.build_with_dataset(cartpole)
    algo.save(str(tmp_path / "new.d3"))
    with open(tmp_path / "new.d3", "rb") as f:
        obj = pickle.load(f)
    config = json.loads(obj["config"])
    del config["config"]["params"]["orthogonal_regularization"]  # as saved before the field
    obj["config"] = json.dumps(config)
    with open(tmp_path / "old.d3", "wb") as f:
        pickle.dump(obj, f)
    loaded = d3rlpy.load_learnable(str(tmp_path / "old.d3"))
    assert loaded.config.orthogonal_regularization == 1e-4
    obs = cartpole.transitions.observations[:8]
    assert (loaded.predict(obs) == algo.predict(obs)).all()
