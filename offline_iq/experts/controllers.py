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
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from offline_iq.envs import GRIDWORLD_10X10_ID, GRIDWORLD_ID, make_gridworld_expert
from offline_iq.experts.planners import (
    AcrobotPlanner,
    MountainCarContinuousBangBang,
    MountainCarPlanner,
)
from offline_iq.experts.policy_base import (
    Action,
    ExpertPolicy,
    FloatArray,
    Observation,
    StatelessController,
)

__all__ = [
    "SUPPORTED_EXPERT_ENVS",
    "ExpertPolicy",
    "make_expert",
    "make_random_policy",
    "rollout_returns",
]


class CartPoleLinearFeedback(StatelessController):
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


class PendulumSwingUpLQR(StatelessController):
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


class LunarLanderHeuristic(StatelessController):
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
