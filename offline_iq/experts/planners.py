"""Look-ahead and bang-bang experts for Acrobot and the MountainCar tasks, from the
environments' equations of motion."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from offline_iq.experts.policy_base import FloatArray, Observation, StatelessController

__all__ = ["AcrobotPlanner", "MountainCarContinuousBangBang", "MountainCarPlanner"]


_State = tuple[FloatArray, FloatArray, FloatArray, FloatArray]


def _acrobot_derivs(s: _State, torque: FloatArray) -> _State:
    """Gymnasium's "book" equations with ``m = l = I = 1``, ``lc = 0.5``, ``g = 9.8``."""
    t1, t2, w1, w2 = s
    sin2, cos2 = np.sin(t2), np.cos(t2)
    d1, d2 = 3.5 + cos2, 1.25 + 0.5 * cos2
    phi2 = 4.9 * np.sin(t1 + t2)
    phi1 = -0.5 * sin2 * (w2 * w2 + 2.0 * w1 * w2) + 14.7 * np.sin(t1) + phi2
    acc2 = (torque + d2 / d1 * phi1 - 0.5 * w1 * w1 * sin2 - phi2) / (1.25 - d2 * d2 / d1)
    return w1, w2, -(d2 * acc2 + phi1) / d1, acc2


def _axpy(s: _State, h: float, k: _State) -> _State:
    """``s + h * k`` componentwise."""
    return s[0] + h * k[0], s[1] + h * k[1], s[2] + h * k[2], s[3] + h * k[3]


def _acrobot_step(s: _State, torque: FloatArray, dt: float = 0.2) -> _State:
    """One env step: a single RK4 step of ``dt``, then the velocity clips (angles unwrapped)."""
    k1 = _acrobot_derivs(s, torque)
    k2 = _acrobot_derivs(_axpy(s, 0.5 * dt, k1), torque)
    k3 = _acrobot_derivs(_axpy(s, 0.5 * dt, k2), torque)
    k4 = _acrobot_derivs(_axpy(s, dt, k3), torque)
    t1, t2, w1, w2 = (
        x + dt / 6.0 * (a + 2.0 * b + 2.0 * c + d)
        for x, a, b, c, d in zip(s, k1, k2, k3, k4, strict=True)
    )
    return t1, t2, np.clip(w1, -4.0 * np.pi, 4.0 * np.pi), np.clip(w2, -9.0 * np.pi, 9.0 * np.pi)


class AcrobotPlanner(StatelessController):
    """Receding-horizon planner on the exact Acrobot dynamics (gymnasium's RK4, ``dt = 0.2``).

    The base law is energy pumping, ``tau = sign(theta2_dot)``: the actuator's power is
    ``tau * theta2_dot``, so it injects energy at the maximal instantaneous rate. Being
    myopic, it wastes swings; so candidate plans apply ``u = +-1`` for ``k1 = 1..n_hold``
    steps, ``-u`` for ``k2 = 0..n_hold`` steps, then pump. Each is simulated until the first
    one lifts the tip above the line (``-cos t1 - cos(t1 + t2) > 1``) and the first action of
    that plan is applied (ties go to the higher tip; if none arrives within ``horizon``
    steps, the plan ending with the most mechanical energy wins).
    """

    name = "acrobot-lookahead-planner"
    description = (
        "Receding-horizon planner: simulates the known dynamics for 'torque u for k1 steps, "
        "-u for k2 steps, then energy pumping' plans and takes the first action of the one "
        "lifting the tip above the line soonest."
    )

    def __init__(self, n_hold: int = 8, horizon: int = 100) -> None:
        k1, k2, u = np.meshgrid(
            np.arange(1, n_hold + 1), np.arange(n_hold + 1), [-1.0, 1.0], indexing="ij"
        )
        self._switch, self._end = k1.ravel(), (k1 + k2).ravel()
        self._torque = u.ravel().astype(np.float64)
        self.horizon = horizon

    def __call__(self, observation: Observation) -> int:
        o = np.asarray(observation, dtype=np.float64)
        n = self._torque.shape
        s: _State = (
            np.full(n, np.arctan2(o[1], o[0])),
            np.full(n, np.arctan2(o[3], o[2])),
            np.full(n, o[4]),
            np.full(n, o[5]),
        )
        u = self._torque
        for t in range(self.horizon):
            pump = np.where(s[3] > 0.0, 1.0, -1.0)
            s = _acrobot_step(s, np.where(t < self._switch, u, np.where(t < self._end, -u, pump)))
            height = -np.cos(s[0]) - np.cos(s[0] + s[1])
            if (height > 1.0).any():
                return int(u[int(np.argmax(height))]) + 1
        t1, t2, w1, w2 = s
        cos2 = np.cos(t2)
        kinetic = 0.5 * ((3.5 + cos2) * w1**2 + (2.5 + cos2) * w1 * w2 + 1.25 * w2**2)
        energy = kinetic - 9.8 * (1.5 * np.cos(t1) + 0.5 * np.cos(t1 + t2))
        return int(u[int(np.argmax(energy))]) + 1


def _gravity_direction(position: FloatArray) -> FloatArray:
    """Sign of the hill's acceleration ``-0.0025 cos(3 p)``: +1 left of the valley floor."""
    return np.where(np.cos(3.0 * position) < 0.0, 1.0, -1.0)


class MountainCarPlanner(StatelessController):
    """Receding-horizon planner on the exact MountainCar dynamics.

    Dynamics: ``v' = clip(v + 0.001 (a - 1) - 0.0025 cos(3 p), +-0.07)``,
    ``p' = clip(p + v', [-1.2, 0.6])`` (``v' = 0`` at the left wall). Candidate plans hold
    an action ``a`` for ``k = 1..n_hold`` steps, then push along the velocity; each is
    simulated for ``horizon`` steps and the first action of the plan reaching the goal
    soonest is applied (ties and misses go to the highest final mechanical energy).
    """

    name = "mountaincar-lookahead-planner"
    description = (
        "Receding-horizon planner: simulates the known dynamics for 'hold an action for k "
        "steps, then push along the velocity' plans and takes the first action of the one "
        "reaching the goal soonest."
    )

    def __init__(self, goal_velocity: float = 0.0, n_hold: int = 30, horizon: int = 120) -> None:
        self.goal_velocity = goal_velocity
        self.horizon = horizon
        self._hold = np.tile(np.arange(1, n_hold + 1), 3)
        self._action = np.repeat(np.arange(3), n_hold)

    def __call__(self, observation: Observation) -> int:
        p = np.full(self._hold.shape, float(observation[0]))
        v = np.full(self._hold.shape, float(observation[1]))
        arrival = np.full(self._hold.shape, np.inf)
        for t in range(self.horizon):
            along_velocity = np.where(v != 0.0, np.sign(v), _gravity_direction(p)) + 1.0
            a = np.where(t < self._hold, self._action, along_velocity)
            v = np.clip(v + 0.001 * (a - 1.0) - 0.0025 * np.cos(3.0 * p), -0.07, 0.07)
            p = np.clip(p + v, -1.2, 0.6)
            v = np.where((p <= -1.2) & (v < 0.0), 0.0, v)
            reached = (p >= 0.5) & (v >= self.goal_velocity)
            arrival = np.where(np.isinf(arrival) & reached, t + 1.0, arrival)
            if np.isfinite(arrival).all():
                break
        energy = 0.5 * v**2 / 0.0025 + np.sin(3.0 * p) / 3.0  # height is sin(3p)/3
        score = np.minimum(arrival, self.horizon + 1.0) - 1e-3 * energy
        return int(self._action[int(np.argmin(score))])


class MountainCarContinuousBangBang(StatelessController):
    """Bang-bang on velocity: ``a = 0.3 sign(v)``; at ``v = 0`` push the way gravity pulls.

    Gravity's acceleration is ``-0.0025 cos(3 p)``, so from rest the car first rolls
    towards the valley floor; each push then adds energy at rate ``0.3 * 0.0015 * |v|``.
    """

    name = "mountaincarcontinuous-bang-bang"
    description = (
        "Bang-bang on velocity with |a| = 0.3; at rest it pushes towards the valley floor."
    )

    def __call__(self, observation: Observation) -> NDArray[np.float32]:
        p, v = float(observation[0]), float(observation[1])
        direction = np.sign(v) if v != 0.0 else float(_gravity_direction(np.array(p)))
        return np.array([0.3 * direction], dtype=np.float32)
