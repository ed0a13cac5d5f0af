"""Hand-written expert controllers for gymnasium control tasks.

Every controller is a deterministic function of the observation (plus internal state
cleared by ``reset``), so datasets collected with it are reproducible. The classic-control
controllers are derived from the environments' equations of motion; LunarLander delegates
to gymnasium's own ``heuristic``. The GridWorld experts (:mod:`offline_iq.envs`) are the
exception: they sample from the exact soft-optimal policy with a generator seeded by the
``seed`` kwarg (default 0), so they too are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from offline_iq.envs import GRIDWORLD_10X10_ID, GRIDWORLD_ID, make_gridworld_expert

Observation = NDArray[Any]
Action = int | NDArray[np.float32]
FloatArray = NDArray[np.float64]

__all__ = [
    "SUPPORTED_EXPERT_ENVS",
    "ExpertPolicy",
    "make_expert",
    "make_random_policy",
    "rollout_returns",
]


@runtime_checkable
class ExpertPolicy(Protocol):
    """Observation -> action (``int`` if discrete, float32 array if continuous)."""

    name: str
    description: str

    def reset(self) -> None:
        """Clear any internal state at the start of an episode."""

    def __call__(self, observation: Observation) -> Action:
        """Return the action for ``observation``."""


class _Stateless:
    """Base class for controllers without per-episode state."""

    name: str = ""
    description: str = ""

    def reset(self) -> None:
        """Nothing to clear."""


class CartPoleLinearFeedback(_Stateless):
    """Linear state feedback: push right (1) iff ``k . (x, x_dot, theta, theta_dot) > 0``.

    The angle terms are a PD law keeping the cart under the pole; the positive position
    terms tilt the pole back towards the centre so the cart does not drift off the track.
    """

    name = "cartpole-linear-feedback"
    description = (
        "Bang-bang linear state feedback: push right iff "
        "1.0*x + 1.5*x_dot + 20*theta + 3*theta_dot > 0."
    )
    gains = np.array([1.0, 1.5, 20.0, 3.0])

    def __call__(self, observation: Observation) -> int:
        return int(float(self.gains @ np.asarray(observation, dtype=np.float64)) > 0.0)


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


class AcrobotPlanner(_Stateless):
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


class MountainCarPlanner(_Stateless):
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


class MountainCarContinuousBangBang(_Stateless):
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


class PendulumSwingUpLQR(_Stateless):
    """Energy swing-up with an LQR catch, from ``theta_ddot = alpha sin(theta) + beta u``.

    ``alpha = 3g/(2l)``, ``beta = 3/(m l^2)`` (``m = l = 1``), semi-implicit Euler with
    ``dt = 0.05``, ``|u| <= 2``; ``theta = 0`` is upright.

    * Balance (``cos theta > 0.8``): ``u = -K (theta, theta_dot)``, ``K`` the discrete LQR gain
      of the linearisation at the top with the reward's weights ``Q = diag(1, 0.1)``,
      ``R = 0.001``.
    * Swing-up: with ``E = theta_dot^2 / 2 + alpha cos(theta)``, ``dE/dt = beta u theta_dot``,
      so ``u = 2 sign((alpha - E) theta_dot)`` drives ``E`` to its upright value ``alpha`` as
      fast as the torque limit allows. The start direction matters, so a short look-ahead
      simulates "hold ``u = +-2`` for ``k`` steps, then this law" and applies the first
      action of the plan with the lowest reward cost.
    """

    name = "pendulum-energy-swingup-lqr"
    description = (
        "Energy-pumping swing-up (bang-bang torque on (E* - E) * theta_dot, start direction "
        "chosen by a model look-ahead) with a discrete LQR balancing the pendulum near the top."
    )
    dt = 0.05
    max_torque = 2.0
    max_speed = 8.0
    catch_cos = 0.8

    def __init__(self, g: float = 10.0, n_hold: int = 16, horizon: int = 100) -> None:
        self.alpha, self.beta, self.horizon, dt = 1.5 * g, 3.0, horizon, self.dt
        a_mat = np.array([[1.0 + self.alpha * dt**2, dt], [self.alpha * dt, 1.0]])
        b_mat = np.array([[self.beta * dt**2], [self.beta * dt]])
        q_mat, r_mat = np.diag([1.0, 0.1]), np.array([[0.001]])
        p_mat = q_mat
        for _ in range(1000):  # Riccati recursion to its fixed point
            gain = np.linalg.solve(r_mat + b_mat.T @ p_mat @ b_mat, b_mat.T @ p_mat @ a_mat)
            p_mat = q_mat + a_mat.T @ p_mat @ (a_mat - b_mat @ gain)
        self.gain = gain[0]
        self._hold = np.tile(np.arange(1, n_hold + 1), 2)
        self._torque = np.repeat([self.max_torque, -self.max_torque], n_hold)

    def _feedback(self, theta: FloatArray, theta_dot: FloatArray) -> FloatArray:
        """Pumping law away from the top, saturated LQR near it (vectorised)."""
        theta = (theta + np.pi) % (2.0 * np.pi) - np.pi
        energy = 0.5 * theta_dot**2 + self.alpha * np.cos(theta)
        pump = np.where((self.alpha - energy) * theta_dot >= 0.0, 1.0, -1.0) * self.max_torque
        lqr = -(self.gain[0] * theta + self.gain[1] * theta_dot)
        lqr = np.clip(lqr, -self.max_torque, self.max_torque)
        return np.where(np.cos(theta) > self.catch_cos, lqr, pump)

    def __call__(self, observation: Observation) -> NDArray[np.float32]:
        cos_th, sin_th, theta_dot = (float(x) for x in observation[:3])
        theta = np.arctan2(sin_th, cos_th)
        if cos_th > self.catch_cos:
            torque = self._feedback(np.array(theta), np.array(theta_dot))
            return np.array([torque], dtype=np.float32)
        th = np.full(self._hold.shape, theta)
        w = np.full(self._hold.shape, theta_dot)
        cost = np.zeros(self._hold.shape)
        for t in range(self.horizon):  # the env's integrator and its per-step cost
            u = np.where(t < self._hold, self._torque, self._feedback(th, w))
            cost += ((th + np.pi) % (2.0 * np.pi) - np.pi) ** 2 + 0.1 * w**2 + 0.001 * u**2
            w = w + (self.alpha * np.sin(th) + self.beta * u) * self.dt
            w = np.clip(w, -self.max_speed, self.max_speed)
            th = th + w * self.dt
        return np.array([self._torque[int(np.argmin(cost))]], dtype=np.float32)


class LunarLanderHeuristic(_Stateless):
    """Gymnasium's reference ``heuristic``: PD control of the tilt towards the pad and of height."""

    def __init__(self, continuous: bool = False) -> None:
        from gymnasium.envs.box2d.lunar_lander import heuristic  # needs box2d

        self._heuristic: Callable[[Any, Observation], Any] = heuristic
        # heuristic(env, s) only reads env.unwrapped.continuous, so a stand-in suffices.
        self._env = SimpleNamespace(unwrapped=SimpleNamespace(continuous=continuous))
        self.continuous = continuous
        kind = "continuous" if continuous else "discrete"
        self.name = f"lunarlander-{kind}-gym-heuristic"
        self.description = (
            f"Gymnasium's reference LunarLander heuristic (PD on tilt and hover height), {kind} "
            "actions."
        )

    def __call__(self, observation: Observation) -> Action:
        action = self._heuristic(self._env, observation)
        if self.continuous:
            return np.asarray(action, dtype=np.float32)
        return int(action)


def _float(kwargs: Mapping[str, object], key: str, default: float) -> float:
    value = kwargs.get(key, default)
    if not isinstance(value, int | float):
        raise TypeError(f"env kwarg {key!r} must be a number, got {value!r}")
    return float(value)


_FACTORIES: dict[str, Callable[[Mapping[str, object]], ExpertPolicy]] = {
    "CartPole-v1": lambda kw: CartPoleLinearFeedback(),
    "Acrobot-v1": lambda kw: AcrobotPlanner(),
    "MountainCar-v0": lambda kw: MountainCarPlanner(_float(kw, "goal_velocity", 0.0)),
    "Pendulum-v1": lambda kw: PendulumSwingUpLQR(g=_float(kw, "g", 10.0)),
    "MountainCarContinuous-v0": lambda kw: MountainCarContinuousBangBang(),
    "LunarLander-v3": lambda kw: LunarLanderHeuristic(bool(kw.get("continuous", False))),
    GRIDWORLD_ID: lambda kw: make_gridworld_expert(GRIDWORLD_ID, kw),
    GRIDWORLD_10X10_ID: lambda kw: make_gridworld_expert(GRIDWORLD_10X10_ID, kw),
}

SUPPORTED_EXPERT_ENVS: tuple[str, ...] = tuple(_FACTORIES)


def make_expert(env_id: str, **env_kwargs: object) -> ExpertPolicy:
    """Return the hand-made expert for ``env_id`` (``env_kwargs`` as passed to ``gym.make``).

    LunarLander-v3 honours ``continuous``, Pendulum-v1 ``g`` and MountainCar-v0
    ``goal_velocity``; the GridWorld ids take their env kwargs plus ``seed`` (the expert's
    sampling seed, default 0). Raises ``ValueError`` for unsupported ids.
    """
    factory = _FACTORIES.get(env_id)
    if factory is None:
        supported = ", ".join(SUPPORTED_EXPERT_ENVS)
        raise ValueError(f"No expert controller for env {env_id!r}; supported: {supported}")
    return factory(env_kwargs)


class _RandomPolicy:
    """Uniform random actions from ``np.random.default_rng(seed)``.

    ``reset`` does not reseed: episodes get fresh actions while the whole action stream
    stays reproducible from the seed.
    """

    name = "random-uniform"
    description = "Uniformly random actions from a seeded generator."

    def __init__(self, action_space: gym.spaces.Space[Any], seed: int) -> None:
        if not isinstance(action_space, gym.spaces.Discrete | gym.spaces.Box):
            raise ValueError(f"Random policy needs a Discrete or Box space, got {action_space}")
        if isinstance(action_space, gym.spaces.Box) and not action_space.is_bounded():
            raise ValueError(f"Random policy needs a bounded Box space, got {action_space}")
        self.action_space = action_space
        self._rng = np.random.default_rng(seed)

    def reset(self) -> None:
        """Nothing episode-specific to clear (the generator keeps its stream)."""

    def __call__(self, observation: Observation) -> Action:
        space = self.action_space
        if isinstance(space, gym.spaces.Discrete):
            return int(space.start) + int(self._rng.integers(int(space.n)))
        return self._rng.uniform(space.low, space.high).astype(np.float32)


def make_random_policy(action_space: gym.spaces.Space[Any], seed: int) -> ExpertPolicy:
    """Uniform random policy over a Discrete or bounded Box space, reproducible from ``seed``."""
    return _RandomPolicy(action_space, seed)


def rollout_returns(
    env_id: str, policy: ExpertPolicy, n_episodes: int, seed: int, **env_kwargs: object
) -> FloatArray:
    """Run ``n_episodes`` episodes with ``env.reset(seed=seed + i)``; return their returns."""
    kwargs: dict[str, Any] = dict(env_kwargs)
    env = gym.make(env_id, **kwargs)
    close: Callable[[], None] = env.close
    returns = np.zeros(n_episodes)
    try:
        for i in range(n_episodes):
            policy.reset()
            observation, _ = env.reset(seed=seed + i)
            done = False
            while not done:
                observation, reward, terminated, truncated, _ = env.step(policy(observation))
                returns[i] += float(reward)
                done = terminated or truncated
    finally:
        close()
    return returns
