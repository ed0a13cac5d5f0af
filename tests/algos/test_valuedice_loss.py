"""ValueDICE's objective on tensors computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from offline_iq.algos.valuedice_loss import valuedice_objective

GAMMA = 0.9


def _rows(expert: list[bool]) -> dict[str, torch.Tensor]:
    # x = nu - (1 - d) 0.9 next_nu = [1 - 0.45, 2 - 0, 0.5 - 0.9] = [0.55, 2.0, -0.4]
    n = len(expert)
    return {
        "nu": torch.tensor([[1.0], [2.0], [0.5]][:n], dtype=torch.float64, requires_grad=True),
        "next_nu": torch.tensor([[0.5], [1.0], [1.0]][:n], dtype=torch.float64),
        "terminals": torch.tensor([[0.0], [1.0], [0.0]][:n], dtype=torch.float64),
        "is_expert": torch.tensor(expert),
        "initial_nu": torch.tensor([[1.0], [3.0]], dtype=torch.float64),
    }


def test_offline_objective_by_hand() -> None:
    rows = _rows([True, True])
    out = valuedice_objective(
        **rows, gamma=GAMMA, replay_regularization=0.1
    )  # no replay: alpha unused
    nonlinear = math.log((math.exp(0.55) + math.exp(2.0)) / 2)
    assert float(out.nonlinear) == pytest.approx(nonlinear)
    assert float(out.linear) == pytest.approx((1 - GAMMA) * 2.0)
    assert float(out.objective) == pytest.approx(nonlinear - 0.2)
    out.objective.backward()
    softmax0 = math.exp(0.55) / (math.exp(0.55) + math.exp(2.0))
    assert rows["nu"].grad is not None
    assert rows["nu"].grad.flatten().tolist() == pytest.approx([softmax0, 1 - softmax0])


def test_replay_regularised_objective_by_hand() -> None:
    out = valuedice_objective(**_rows([True, True, False]), gamma=GAMMA, replay_regularization=0.1)
    mixture = 0.9 * (math.exp(0.55) + math.exp(2.0)) / 2 + 0.1 * math.exp(-0.4)
    assert float(out.nonlinear) == pytest.approx(math.log(mixture))
    assert float(out.linear) == pytest.approx(0.9 * 0.1 * 2.0 + 0.1 * -0.4)
    assert float(out.objective) == pytest.approx(math.log(mixture) - 0.14)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="at least one expert row"):
        valuedice_objective(**_rows([False, False]), gamma=GAMMA)
    with pytest.raises(ValueError, match=r"replay_regularization must be in \[0, 1\)"):
        valuedice_objective(**_rows([True, True]), gamma=GAMMA, replay_regularization=1.0)
