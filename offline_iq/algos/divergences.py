r"""Statistical distances of IQ-Learn through the concave function :math:`\phi`.

IQ-Learn (Garg et al., 2021, eq. 8) writes the imitation distance as

.. math::

    d_\psi(\rho, \rho_E) = \max_{r} \mathbb{E}_{\rho_E}[\phi(r(s, a))] - \mathbb{E}_{\rho}[r(s, a)].

For an f-divergence with convex conjugate :math:`f^*`, :math:`\phi(x) = -f^*(-x)` (the f-GAN
variational bound with the reward as critic). The functions below are those :math:`\phi`:

=============  ===================================  ==========================================
name           :math:`\phi(x)`                      reward property / distance
=============  ===================================  ==========================================
``chi2``       :math:`x - x^2 / (4\alpha)`          L2 penalty, :math:`\chi^2` (Table 2)
``tv``         :math:`x` on :math:`|x| \le R`       bounded reward, total variation (Table 2)
``w1``         :math:`x` (+ gradient penalty)       Lipschitz reward, Wasserstein-1 (Table 2)
``kl``         :math:`-e^{-x-1}`                    :math:`f(t) = t \log t`
``js``         :math:`\log(2 - e^{-x})`             Jensen-Shannon
``hellinger``  :math:`x / (1 + x)`                  squared Hellinger, :math:`(\sqrt t - 1)^2`
=============  ===================================  ==========================================

``js`` and ``hellinger`` are finite only for :math:`x > -\log 2` and :math:`x > -1`; below a point
just inside that domain they continue along their tangent, which keeps :math:`\phi` concave
and its gradient finite. For ``tv``, :math:`\phi = -\infty` outside :math:`[-R, R]`; it is
relaxed to walls of slope ``TV_WALL_SLOPE`` that push rewards back into the range (still
concave).
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import torch

__all__ = ["DIVERGENCES", "TV_WALL_SLOPE", "Divergence", "phi"]

Divergence = Literal["chi2", "tv", "w1", "kl", "js", "hellinger"]
DIVERGENCES: tuple[str, ...] = get_args(Divergence)

_DOMAIN_MARGIN = 1e-2
TV_WALL_SLOPE = 10.0


def _tangent_below(
    x: torch.Tensor, x0: float, value: float, slope: float, inside: torch.Tensor
) -> torch.Tensor:
    """``inside`` where ``x >= x0``, else the tangent line ``value + slope (x - x0)``."""
    return torch.where(x >= x0, inside, value + slope * (x - x0))


def phi(
    divergence: Divergence,
    x: torch.Tensor,
    *,
    chi2_alpha: float = 0.5,
    tv_bound: float = 1.0,
) -> torch.Tensor:
    """Apply the concave :math:`\\phi` of ``divergence`` elementwise to rewards ``x``."""
    if divergence == "chi2":
        return x - x.pow(2) / (4.0 * chi2_alpha)
    if divergence == "w1":
        return x
    if divergence == "tv":
        above = (x - tv_bound).clamp(min=0.0)
        below = (-tv_bound - x).clamp(min=0.0)
        return x - (1.0 + TV_WALL_SLOPE) * above - TV_WALL_SLOPE * below
    if divergence == "kl":
        return -torch.exp(-x - 1.0)
    if divergence == "js":
        x0 = -math.log(2.0) + _DOMAIN_MARGIN
        safe = torch.clamp(x, min=x0)
        inside = torch.log(2.0 - torch.exp(-safe))
        e0 = math.exp(-x0)
        return _tangent_below(x, x0, math.log(2.0 - e0), e0 / (2.0 - e0), inside)
    if divergence == "hellinger":
        x0 = -1.0 + _DOMAIN_MARGIN
        safe = torch.clamp(x, min=x0)
        inside = safe / (1.0 + safe)
        return _tangent_below(x, x0, x0 / (1.0 + x0), 1.0 / (1.0 + x0) ** 2, inside)
    raise ValueError(f"unknown divergence {divergence!r}; choose from {', '.join(DIVERGENCES)}")
