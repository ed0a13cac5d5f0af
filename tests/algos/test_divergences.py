"""Every phi, checked against values computed by hand and against f-divergence conjugacy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from offline_iq.algos.divergences import DIVERGENCES, phi


def _phi_and_grad(name: str, x: float, **kw: float) -> tuple[float, float]:
    t = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    out = phi(name, t, **kw)  # type: ignore[arg-type]
    out.sum().backward()
    assert t.grad is not None
    return float(out), float(t.grad)


@pytest.mark.parametrize(
    ("name", "x", "kw", "value", "grad"),
    [
        ("chi2", 1.0, {"chi2_alpha": 0.5}, 0.5, 0.0),  # 1 - 1/2; 1 - 2*1/2
        ("chi2", -2.0, {"chi2_alpha": 0.5}, -4.0, 3.0),  # -2 - 4/2; 1 + 2
        ("chi2", 2.0, {"chi2_alpha": 1.0}, 1.0, 0.0),  # 2 - 4/4; 1 - 2*2/4
        ("tv", 0.3, {"tv_bound": 1.0}, 0.3, 1.0),
        ("tv", 2.0, {"tv_bound": 1.0}, 2.0 - 11.0 * 1.0, -10.0),  # wall above R: slope -10
        ("tv", -3.0, {"tv_bound": 2.0}, -3.0 - 10.0 * 1.0, 11.0),  # wall below -R: slope 11
        ("w1", -1.7, {}, -1.7, 1.0),
        ("kl", 0.0, {}, -math.exp(-1.0), math.exp(-1.0)),  # -e^{-x-1}
        ("kl", 1.0, {}, -math.exp(-2.0), math.exp(-2.0)),
        ("js", 0.0, {}, 0.0, 1.0),  # log(2 - 1); e^0 / (2 - 1)
        ("js", 1.0, {}, math.log(2.0 - math.exp(-1.0)), math.exp(-1.0) / (2.0 - math.exp(-1.0))),
        ("hellinger", 1.0, {}, 0.5, 0.25),  # x / (1 + x); 1 / (1 + x)^2
        ("hellinger", 0.0, {}, 0.0, 1.0),
    ],
)
def test_phi_hand_computed(
    name: str, x: float, kw: dict[str, float], value: float, grad: float
) -> None:
    got_value, got_grad = _phi_and_grad(name, x, **kw)
    assert got_value == pytest.approx(value, abs=1e-9)
    assert got_grad == pytest.approx(grad, abs=1e-9)


@pytest.mark.parametrize(("name", "x"), [("js", -2.0), ("hellinger", -3.0)])
def test_outside_the_domain_phi_follows_its_tangent(name: str, x: float) -> None:
    value, grad = _phi_and_grad(name, x)
    assert math.isfinite(value) and math.isfinite(grad) and grad > 0
    value_far, _ = _phi_and_grad(name, x - 1.0)
    assert value_far == pytest.approx(value - grad, rel=1e-9)  # linear there


@pytest.mark.parametrize("name", DIVERGENCES)
def test_phi_is_concave_and_nondecreasing(name: str) -> None:
    x = torch.linspace(-3.0, 3.0, 601, dtype=torch.float64)
    y = phi(name, x).numpy()  # type: ignore[arg-type]
    second = y[2:] - 2 * y[1:-1] + y[:-2]
    assert np.all(second <= 1e-9)
    if name not in ("chi2", "tv"):  # chi2 peaks at 2 alpha, tv at R
        assert np.all(np.diff(y) >= -1e-12)


# phi(x) = -f*(-x) = inf_{t >= 0} [f(t) + x t] for the generator f of each f-divergence.
GENERATORS = {
    "chi2": lambda t: (t - 1.0) ** 2,  # with chi2_alpha = 1
    "kl": lambda t: t * np.log(np.maximum(t, 1e-300)),
    "js": lambda t: t * np.log(np.maximum(t, 1e-300)) - (t + 1.0) * np.log((t + 1.0) / 2.0),
    "hellinger": lambda t: (np.sqrt(t) - 1.0) ** 2,
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
@pytest.mark.parametrize("x", [-0.5, 0.0, 0.4, 1.5])
def test_phi_is_the_negated_conjugate_of_the_generator(name: str, x: float) -> None:
    t = np.linspace(0.0, 60.0, 600_001)
    expected = float(np.min(GENERATORS[name](t) + x * t))
    got = float(phi(name, torch.tensor([x], dtype=torch.float64), chi2_alpha=1.0))  # type: ignore[arg-type]
    assert got == pytest.approx(expected, abs=1e-4)


def test_unknown_divergence() -> None:
    with pytest.raises(ValueError, match="unknown divergence 'rkl'"):
        phi("rkl", torch.zeros(1))  # type: ignore[arg-type]
