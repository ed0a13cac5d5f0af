"""The learned temperature's step toward its target entropy, by hand from one update's metrics."""

from __future__ import annotations

import math

import d3rlpy
import pytest

import offline_iq
from offline_iq.data import load_minari


@pytest.mark.parametrize(("target", "expected"), [(None, -1.0), (0.0, 0.0), (-4.0, -4.0)])
def test_temperature_loss_uses_the_target_entropy(target: float | None, expected: float) -> None:
    """SAC's temperature loss -alpha (log pi + H_target), alpha before its step (0.01 here), with
    H_target = -|A| = -1 on Pendulum unless ``target_entropy`` is given; alpha rises iff the
    actor's entropy estimate is below the target."""
    d3rlpy.seed(0)
    data = load_minari("pendulum/expert-v0", n_trajectories=1, seed=0)
    config = offline_iq.IQLearnConfig(batch_size=32, temp_learning_rate=1e-2, target_entropy=target)
    algo = config.create(device="cpu:0")
    ((_, metrics),) = list(
        algo.fitter(
            data,
            n_steps=1,
            n_steps_per_epoch=1,
            show_progress=False,
            logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
        )
    )
    entropy = metrics["entropy"]
    assert metrics["temp_loss"] == pytest.approx(-0.01 * (-entropy + expected), rel=1e-5)
    assert (metrics["temp"] > 0.01) == (entropy < expected)
    assert metrics["temp"] != pytest.approx(0.01, rel=1e-4)  # Adam moves log(alpha) by ~lr
    assert abs(math.log(metrics["temp"] / 0.01)) == pytest.approx(1e-2, rel=1e-2)
