"""Batches gathered from tensors are the batches d3rlpy would convert, bit for bit."""

from __future__ import annotations

from typing import Any

import d3rlpy
import numpy as np
import pytest
import torch
from d3rlpy.dataset import TransitionMiniBatch
from d3rlpy.preprocessing import MinMaxActionScaler, MultiplyRewardScaler

import offline_iq
from offline_iq.algos.torch_batches import ExpertTorchMiniBatch, ScaledTransitions
from offline_iq.data import ExpertReplayBuffer, load_minari
from offline_iq.data.buffer import IndexedTransitionMiniBatch
from offline_iq.preprocessing import ClippedStandardObservationScaler
from tests.data.synthetic import EpisodeSpec, write_dataset

FIELDS = ("observations", "actions", "rewards", "next_observations", "next_actions", "terminals")


def _buffer(discrete: bool) -> ExpertReplayBuffer:
    name = f"synthetic/tensors{int(discrete)}-v0"
    write_dataset(name, [EpisodeSpec(n, bool(n % 2)) for n in (6, 9, 3)], discrete=discrete)
    return load_minari(name)


def _plain(batch: TransitionMiniBatch) -> TransitionMiniBatch:
    """The same rows as an ordinary d3rlpy batch (what d3rlpy's own conversion gets)."""
    arrays = {f: np.array(getattr(batch, f)) for f in (*FIELDS, "intervals")}
    return TransitionMiniBatch(**arrays, transitions=[])


def test_indexed_batch_reads_its_rows_when_asked() -> None:
    buffer = _buffer(discrete=False)
    d3rlpy.seed(1)
    batch = buffer.sample_transition_batch(40)
    assert isinstance(batch, IndexedTransitionMiniBatch) and len(batch) == 40
    assert batch.source is buffer and batch.indices.shape == (40,)
    for field in FIELDS:
        expected = getattr(buffer.transitions, field)[batch.indices]
        np.testing.assert_array_equal(getattr(batch, field), expected)
    np.testing.assert_array_equal(batch.intervals, np.ones((40, 1), dtype=np.float32))
    d3rlpy.seed(1)
    np.testing.assert_array_equal(buffer.sample_transition_batch(40).indices, batch.indices)


@pytest.mark.parametrize("discrete", [False, True])
def test_scaled_rows_equal_d3rlpys_conversion(discrete: bool) -> None:
    buffer = _buffer(discrete)
    mean, std = buffer.observation_statistics
    scalers: dict[str, Any] = {
        "observation_scaler": ClippedStandardObservationScaler(mean=mean, std=std, clip=1.0),
        "reward_scaler": MultiplyRewardScaler(2.5),
    }
    if discrete:
        config: Any = offline_iq.DiscreteIQLearnConfig(**scalers)
    else:
        box = buffer.metadata.action_space
        action_scaler = MinMaxActionScaler(minimum=box.low / 1e5, maximum=box.high / 1e5)
        config = offline_iq.IQLearnConfig(**scalers, action_scaler=action_scaler)
    tensors = ScaledTransitions.build(buffer, config, "cpu:0")
    batch = buffer.sample_transition_batch(64)
    fast = tensors.batch(batch)
    slow = ExpertTorchMiniBatch.from_transition_batch(_plain(batch), config, "cpu:0")
    for field in (*FIELDS, "intervals", "returns_to_go"):
        a, b = getattr(fast, field), getattr(slow, field)
        assert a.dtype == b.dtype and torch.equal(a, b), field
    assert fast.is_expert is None and slow.is_expert is None
    assert fast.numpy_batch is batch
    assert bool(fast.expert_mask().all())


def _fit(config: Any, data: ExpertReplayBuffer) -> tuple[Any, list[Any], list[bool]]:
    """Fit 30 steps from seed 0: the learner, its logged losses, and whether each step
    gathered its batch from tensors."""
    d3rlpy.seed(0)
    algo = config.create(device="cpu:0")
    used: list[bool] = []
    results = algo.fit(
        data,
        n_steps=30,
        n_steps_per_epoch=10,
        show_progress=False,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
        callback=lambda a, epoch, step: used.append(a._scaled_transitions is not None),
    )
    losses = [{k: v for k, v in m.items() if not k.startswith("time_")} for _, m in results]
    return algo, losses, used


@pytest.mark.parametrize(
    ("make", "dataset"),
    [
        (lambda: offline_iq.DiscreteIQLearnConfig(batch_size=32), "cartpole/expert-v0"),
        (lambda: offline_iq.IQLearnConfig(batch_size=32), "pendulum/expert-v0"),
    ],
)
def test_fitting_from_tensors_changes_no_number(
    make: Any, dataset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = load_minari(dataset, n_trajectories=1)
    fast, fast_metrics, fast_used = _fit(make(), data)
    sample = data.sample_transition_batch
    monkeypatch.setattr(data, "sample_transition_batch", lambda n: _plain(sample(n)))
    slow, slow_metrics, slow_used = _fit(make(), data)  # d3rlpy's numpy conversion
    assert all(fast_used) and not any(slow_used)
    assert fast._scaled_transitions is None and fast._tensor_source is None  # per fit only
    assert fast_metrics == slow_metrics
    for module in ("q_funcs", "targ_q_funcs", "policy"):
        if hasattr(fast.impl._modules, module):
            a = getattr(fast.impl._modules, module).state_dict()
            b = getattr(slow.impl._modules, module).state_dict()
            assert all(torch.equal(a[k], b[k]) for k in a), module


@pytest.mark.parametrize("name", ["iq", "demodice"])
def test_mixed_batches_from_tensors_change_no_number(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expert rows plus logged rows (``fit_mixed``): gathered from both buffers' tensors, the
    same numbers as d3rlpy's conversion of the joined numpy batch."""
    from offline_iq.algos import expert_mixing
    from offline_iq.learners import make_logged_config

    expert = load_minari("cartpole/expert-v0", n_trajectories=1, subsample=20)
    logs = load_minari("cartpole/random-v0")

    def fit() -> tuple[Any, list[Any], list[bool]]:
        d3rlpy.seed(0)
        algo = make_logged_config(name, expert, logs, hidden_units="16").create(device="cpu:0")
        algo.attach_demonstrations(expert)
        used: list[bool] = []
        history = algo.fit_mixed(
            logs, n_steps=12, n_steps_per_epoch=6, show_progress=False,
            logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
            callback=lambda a, epoch, step: used.append(a._scaled_transitions is not None),
        )  # fmt: skip
        losses = [{k: v for k, v in m.items() if not k.startswith("time_")} for _, m in history]
        return algo, losses, used

    fast, fast_losses, fast_used = fit()
    monkeypatch.setattr(expert_mixing, "_tensor_sources", lambda dataset: None)
    slow, slow_losses, slow_used = fit()
    assert all(fast_used) and not any(slow_used)
    assert fast_losses == slow_losses
    a, b = fast.impl._modules, slow.impl._modules
    for module in ("q_funcs", "policy", "nu", "discriminator"):
        if hasattr(a, module):
            left, right = getattr(a, module).state_dict(), getattr(b, module).state_dict()
            assert all(torch.equal(left[k], right[k]) for k in left), module
