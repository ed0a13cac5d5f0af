r"""Exact soft (maximum-entropy) value iteration for tabular MDPs, and its sampling policy.

For transitions :math:`P(s' | s, a)`, reward :math:`R(s, a)` (or a state reward :math:`R(s)`,
broadcast over actions), discount :math:`\gamma \in [0, 1)` and temperature :math:`T > 0`, the
soft-optimal values are the unique fixed point of

.. math::

    Q(s, a) = R(s, a) + \gamma \sum_{s'} P(s' | s, a)\, V(s'), \qquad
    V(s) = T \log \sum_a \exp\big(Q(s, a) / T\big),

and the soft-optimal policy is :math:`\pi(a | s) = \exp\big((Q(s, a) - V(s)) / T\big)
= \mathrm{softmax}_a\big(Q(s, \cdot) / T\big)`. It maximises
:math:`\mathbb{E}\big[\sum_t \gamma^t (R(s_t, a_t) + T\,\mathcal{H}(\pi(\cdot | s_t)))\big]`;
:math:`T \to 0` recovers ordinary value iteration. This is IQ-Learn's setting (Garg et al.,
2021) with :math:`\alpha = T`: the reward an IQ-Learn critic implies,
:math:`Q(s, a) - \gamma\, \mathbb{E}_{s'} V(s')`, is exactly :math:`R` at this fixed point.

The soft Bellman operator :math:`V \mapsto T \log \sum_a \exp((R + \gamma P V) / T)` is a
:math:`\gamma`-contraction in the sup norm, so iterating it from :math:`V = 0` converges
geometrically; iteration stops once :math:`\|V_{k+1} - V_k\|_\infty \le` ``tol``, which bounds
the Bellman residual of the returned ``Q`` by :math:`\gamma\,` ``tol``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["SoftOptimalPolicy", "soft_value_iteration"]

FloatArray = NDArray[np.float64]


def _soft_max(q: FloatArray, temperature: float) -> FloatArray:
    """``T * logsumexp(q / T)`` over the last axis, computed stably."""
    top = q.max(axis=-1)
    return top + temperature * np.log(np.exp((q - top[..., None]) / temperature).sum(axis=-1))


def _check_mdp(
    transitions: NDArray[Any], rewards: NDArray[Any], gamma: float, temperature: float
) -> tuple[FloatArray, FloatArray]:
    p = np.asarray(transitions, dtype=np.float64)
    r = np.asarray(rewards, dtype=np.float64)
    if p.ndim != 3 or p.shape[0] != p.shape[2]:
        raise ValueError(f"P must have shape (S, A, S), got {p.shape}")
    n_states, n_actions, _ = p.shape
    if np.any(p < 0.0) or not np.allclose(p.sum(axis=2), 1.0, atol=1e-9):
        raise ValueError("every row P[s, a, :] must be a probability distribution")
    if r.shape == (n_states,):
        r = np.repeat(r[:, None], n_actions, axis=1)
    if r.shape != (n_states, n_actions):
        raise ValueError(
            f"R must have shape ({n_states},) or ({n_states}, {n_actions}), got {r.shape}"
        )
    if not np.all(np.isfinite(r)):
        raise ValueError("R must be finite")
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must be in [0, 1), got {gamma}")
    if not temperature > 0.0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return p, r


def soft_value_iteration(
    P: NDArray[Any],
    R: NDArray[Any],
    gamma: float,
    temperature: float = 1.0,
    tol: float = 1e-10,
    max_iter: int = 100_000,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Solve the soft Bellman equations of a tabular MDP exactly (see the module docstring).

    Args:
        P: transitions, shape ``(S, A, S)``; ``P[s, a, s2]`` is the probability of ``s2``.
        R: reward, shape ``(S, A)``, or ``(S,)`` for a state reward (the same for every action).
        gamma: discount factor in ``[0, 1)``.
        temperature: entropy temperature :math:`T > 0`.
        tol: stop once the sup-norm change of ``V`` between sweeps is at most ``tol``.
        max_iter: most sweeps before giving up.

    Returns:
        ``(Q, V, policy)`` with shapes ``(S, A)``, ``(S,)``, ``(S, A)``:
        :math:`Q = R + \gamma P V`, :math:`V = T\,\mathrm{logsumexp}(Q / T)` and
        :math:`\pi = \mathrm{softmax}(Q / T)` (rows sum to 1).

    Raises:
        ValueError: malformed ``P`` or ``R``, ``gamma`` outside ``[0, 1)``, ``temperature <= 0``.
        RuntimeError: no convergence within ``max_iter`` sweeps.
    """
    p, r = _check_mdp(P, R, gamma, temperature)
    v = np.zeros(p.shape[0])
    for _ in range(max_iter):
        q = r + gamma * (p @ v)
        v_next = _soft_max(q, temperature)
        delta = float(np.max(np.abs(v_next - v)))
        v = v_next
        if delta <= tol:
            break
    else:
        raise RuntimeError(
            f"soft value iteration did not converge to tol={tol} in {max_iter} sweeps "
            f"(last change {delta:.3g})"
        )
    q = r + gamma * (p @ v)
    v = _soft_max(q, temperature)
    policy = np.exp((q - v[:, None]) / temperature)
    policy /= policy.sum(axis=1, keepdims=True)
    return q, v, policy


class SoftOptimalPolicy:
    """Samples actions from a tabular stochastic policy ``pi[s, a]`` with a seeded generator.

    Implements the collectors' ``ExpertPolicy`` protocol (see
    :mod:`offline_iq.experts.controllers`). The observation is a state index (an ``int`` or a
    numpy integer scalar, as from a ``Discrete`` space) or its one-hot encoding. ``reset`` does
    not reseed: episodes get fresh samples while the whole action stream is reproducible from
    ``seed``.
    """

    def __init__(
        self,
        policy: NDArray[Any],
        seed: int = 0,
        *,
        name: str = "soft-optimal",
        description: str = "Actions sampled from the soft-optimal policy softmax(Q*/T).",
    ) -> None:
        pi = np.asarray(policy, dtype=np.float64)
        if pi.ndim != 2 or np.any(pi < 0.0) or not np.allclose(pi.sum(axis=1), 1.0):
            raise ValueError("policy must be an (S, A) array of probability rows")
        self.policy = pi
        self._cumulative = np.cumsum(pi, axis=1)
        self._cumulative[:, -1] = 1.0
        self.seed = seed
        self.name = name
        self.description = description
        self._rng = np.random.default_rng(seed)

    @classmethod
    def from_mdp(
        cls,
        P: NDArray[Any],
        R: NDArray[Any],
        gamma: float,
        temperature: float = 1.0,
        seed: int = 0,
        **kwargs: str,
    ) -> SoftOptimalPolicy:
        """Soft-optimal policy of ``(P, R, gamma, temperature)``; kwargs: name, description."""
        _, _, policy = soft_value_iteration(P, R, gamma, temperature)
        return cls(policy, seed, **kwargs)

    def reset(self) -> None:
        """Nothing episode-specific to clear (the generator keeps its stream)."""

    def state_index(self, observation: Any) -> int:
        """The state index of ``observation`` (an index or a one-hot vector)."""
        obs = np.asarray(observation)
        if obs.ndim == 0:
            index = int(obs)
        elif obs.shape == (self.policy.shape[0],):
            index = int(np.argmax(obs))
        else:
            raise ValueError(f"expected a state index or a one-hot vector, got shape {obs.shape}")
        if not 0 <= index < self.policy.shape[0]:
            raise ValueError(f"state index {index} out of range [0, {self.policy.shape[0]})")
        return index

    def __call__(self, observation: Any) -> int:
        row = self._cumulative[self.state_index(observation)]
        return int(np.searchsorted(row, self._rng.random(), side="right"))
