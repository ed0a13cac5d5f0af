r"""The reward IQ-Learn learns implicitly, as a module of its own (paper sec. 5.2, eq. 11).

.. math::

    r(s, a, s') = Q(s, a) - \gamma (1 - d) V^\pi(s')

computed by the learner's own ``implicit_reward`` (the code its critic loss computes the reward
with, :meth:`~offline_iq.algos.iq_loss.IQObjective.implicit_reward`), so it is the reward the
learner trained on: :math:`V^\pi(s')` from the target network when the loss bootstraps from
one, clipped with ``bounded_targets``, and a termination bootstraps from the absorbing state with
``absorbing`` (:math:`-R/(1 - \gamma)`; on expert rows :math:`+R/(1 - \gamma)` instead with
``expert_terminations="goal"``; rows count as expert unless ``is_expert`` says otherwise), else
ends the bootstrap.

:math:`V^\pi(s) = \alpha \log\sum_a e^{Q(s, a)/\alpha}` for the soft-Q learner (ensemble mean
``Q``). For the actor-critic, each critic's
:math:`r_i = Q_i(s, a) - \gamma (1 - d) V_i(s')` with
:math:`V_i(s) = \mathbb{E}_{a \sim \pi}[Q_i(s, a) - \alpha \log \pi(a|s)]`, averaged over the
ensemble (the loss trains each critic on its own :math:`r_i` and logs their mean); the
expectation uses ``n_samples`` fixed standard-normal draws pushed through the squashed Gaussian
(so the estimate is deterministic and smooth in the state) where training draws fresh samples.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from offline_iq.algos.torch.policy_samples import PolicySamples, policy_samples_from_noise

__all__ = ["RecoveredReward"]

#: the inputs of a saved module, in order (files without this entry in their metadata take
#: the first four)
_INPUTS = ("obs", "act", "next_obs", "terminated", "is_expert")


class _DiscreteReward(nn.Module):
    def __init__(self, impl: Any, observation_scaler: Any) -> None:
        super().__init__()
        self.q_funcs = impl.q_function  # registers the parameters
        if impl.next_q_function is not impl.q_function:  # the target network V(s') reads
            self.next_q_funcs = impl.next_q_function
        self._impl = impl
        self._scaler = observation_scaler

    def forward(
        self,
        obs: torch.Tensor,
        act: torch.Tensor,
        next_obs: torch.Tensor,
        terminated: torch.Tensor,
        is_expert: torch.Tensor,
    ) -> torch.Tensor:
        if self._scaler is not None:
            obs, next_obs = self._scaler.transform(obs), self._scaler.transform(next_obs)
        reward = self._impl.implicit_reward(
            obs, act, next_obs, terminated.reshape(-1, 1), is_expert.reshape(-1) > 0.5
        )
        return reward.reshape(-1)


class _ContinuousReward(nn.Module):
    def __init__(
        self,
        impl: Any,
        observation_scaler: Any,
        action_scaler: Any,
        n_samples: int,
        seed: int,
    ) -> None:
        super().__init__()
        self.q_funcs = impl.q_function
        if impl.next_q_function is not impl.q_function:
            self.next_q_funcs = impl.next_q_function
        self.policy = impl.policy
        self.log_temp = impl.modules.log_temp
        self._impl = impl
        self._obs_scaler = observation_scaler
        self._act_scaler = action_scaler
        generator = torch.Generator().manual_seed(seed)
        noise = torch.randn(n_samples, impl.action_size, generator=generator)
        self.register_buffer("noise", noise)

    def policy_samples(self, x: torch.Tensor) -> PolicySamples:
        """The fixed-noise samples of the policy at (scaled) states ``x``."""
        noise: torch.Tensor = self.noise  # type: ignore[assignment]
        return policy_samples_from_noise(self.policy, x, noise)

    def forward(
        self,
        obs: torch.Tensor,
        act: torch.Tensor,
        next_obs: torch.Tensor,
        terminated: torch.Tensor,
        is_expert: torch.Tensor,
    ) -> torch.Tensor:
        if self._obs_scaler is not None:
            obs, next_obs = self._obs_scaler.transform(obs), self._obs_scaler.transform(next_obs)
        if self._act_scaler is not None:
            act = self._act_scaler.transform(act)
        reward = self._impl.implicit_reward(
            obs,
            act,
            next_obs,
            terminated.reshape(-1, 1),
            is_expert.reshape(-1) > 0.5,
            next_samples=self.policy_samples(next_obs),
        )
        return reward.reshape(-1)


class RecoveredReward:
    """``r(s, a, s')`` of a trained IQ-Learn algorithm; batched torch and numpy interfaces.

    Build it with :meth:`from_algo`; :meth:`save` writes a TorchScript file that :meth:`load`
    reads back without d3rlpy, the algorithm or the training run.
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        observation_shape: tuple[int, ...],
        action_shape: tuple[int, ...],
        discrete: bool,
        takes_is_expert: bool = True,
    ) -> None:
        self.module = module
        self.observation_shape = tuple(observation_shape)
        self.action_shape = tuple(action_shape)
        self.discrete = discrete
        self.takes_is_expert = takes_is_expert  # False: a file saved before that input

    @classmethod
    def from_algo(cls, algo: Any, *, n_samples: int = 64, seed: int = 0) -> RecoveredReward:
        """Extract the reward of a fitted ``DiscreteIQLearn`` or ``IQLearn``.

        On fresh graded Pendulum rollouts the default and the paper's actor recover rewards
        of the same quality (``results/rewards/pendulum-graded.md``).
        """
        from offline_iq.algos import DiscreteIQLearn, IQLearn

        if algo.impl is None:
            raise ValueError("the algorithm is not built: fit it (or load a fitted one) first")
        cfg = algo.config
        if isinstance(algo, DiscreteIQLearn):
            module: nn.Module = _DiscreteReward(algo.impl, cfg.observation_scaler)
            action_shape: tuple[int, ...] = ()
        elif isinstance(algo, IQLearn):
            if n_samples < 1:
                raise ValueError(f"n_samples must be >= 1, got {n_samples}")
            module = _ContinuousReward(
                algo.impl, cfg.observation_scaler, cfg.action_scaler, n_samples, seed
            )
            action_shape = (algo.impl.action_size,)
        else:
            raise TypeError(
                f"rewards are recovered from IQ-Learn (DiscreteIQLearn, IQLearn), not "
                f"{type(algo).__name__}"
            )
        module.eval()
        return cls(
            module,
            observation_shape=tuple(algo.impl.observation_shape),
            action_shape=action_shape,
            discrete=isinstance(algo, DiscreteIQLearn),
        )

    def forward(
        self,
        obs: torch.Tensor,
        act: torch.Tensor,
        next_obs: torch.Tensor,
        terminated: torch.Tensor,
        is_expert: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Rewards ``(B,)`` of a batch of transitions (differentiable, module's current mode).

        ``is_expert`` (``(B,)``, 1 or ``True`` for expert rows) matters only for terminations
        of a learner trained with ``absorbing``, whose absorbing state is worth
        :math:`+R/(1 - \\gamma)` after an expert's termination and :math:`-R/(1 - \\gamma)`
        after the policy's; ``None`` counts every row as expert, as offline training does.
        """
        if not self.takes_is_expert:
            if is_expert is not None:
                raise ValueError("this reward was saved before is_expert existed; save it again")
            return self.module(obs, act, next_obs, terminated.to(obs.dtype))
        if is_expert is None:
            is_expert = torch.ones(obs.shape[0], dtype=obs.dtype, device=obs.device)
        return self.module(
            obs, act, next_obs, terminated.to(obs.dtype), is_expert.to(obs.dtype).reshape(-1)
        )

    __call__ = forward

    def predict(
        self,
        obs: np.ndarray,
        act: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray | None = None,
        is_expert: np.ndarray | None = None,
    ) -> np.ndarray:
        """Rewards as float64 numpy ``(B,)``: eval mode, no gradients, shapes checked.

        ``terminated``: 1 where the episode terminated (``None``: nowhere); ``is_expert``: as
        in :meth:`forward` (``None``: every row expert)."""
        obs_t = self._as_batch(obs, self.observation_shape, "obs")
        next_t = self._as_batch(next_obs, self.observation_shape, "next_obs")
        n = obs_t.shape[0]
        if next_t.shape[0] != n:
            raise ValueError(f"next_obs has {next_t.shape[0]} rows, obs has {n}")
        act_arr = np.asarray(act)
        if self.discrete:
            act_arr = act_arr.reshape(-1)
            if act_arr.shape[0] != n or not np.all(act_arr == np.round(act_arr)):
                raise ValueError(f"act must be {n} integer actions, got shape {np.shape(act)}")
        act_t = (
            self._as_batch(act_arr, self.action_shape, "act")
            if not self.discrete
            else (torch.as_tensor(act_arr, dtype=torch.float32))
        )
        if act_t.shape[0] != n:
            raise ValueError(f"act has {act_t.shape[0]} rows, obs has {n}")
        done = np.zeros(n) if terminated is None else np.asarray(terminated, dtype=np.float32)
        if done.reshape(-1).shape[0] != n:
            raise ValueError(f"terminated must have {n} entries, got shape {done.shape}")
        expert_t = None
        if is_expert is not None:
            expert = np.asarray(is_expert, dtype=np.float32).reshape(-1)
            if expert.shape[0] != n:
                raise ValueError(
                    f"is_expert must have {n} entries, got shape {np.shape(is_expert)}"
                )
            expert_t = torch.from_numpy(expert)
        self.module.eval()
        with torch.no_grad():
            out = self.forward(obs_t, act_t, next_t, torch.as_tensor(done), expert_t)
        return out.reshape(-1).double().numpy()

    @staticmethod
    def _as_batch(x: Any, shape: tuple[int, ...], name: str) -> torch.Tensor:
        array = np.asarray(x, dtype=np.float32)
        if array.shape[1:] != shape:
            raise ValueError(
                f"{name} must have shape (B, {', '.join(map(str, shape))}), got {array.shape}"
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or inf")
        return torch.from_numpy(array)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write a self-contained TorchScript file (traced on a two-row example)."""
        self.module.eval()
        obs = torch.zeros(2, *self.observation_shape)
        act = torch.zeros(2, *self.action_shape) if not self.discrete else torch.zeros(2)
        example: tuple[torch.Tensor, ...] = (obs, act, obs, torch.zeros(2))
        if self.takes_is_expert:
            example += (torch.ones(2),)
        with torch.no_grad():
            traced = torch.jit.trace(self.module, example, check_trace=False)
        meta = {
            "observation_shape": list(self.observation_shape),
            "action_shape": list(self.action_shape),
            "discrete": self.discrete,
            "inputs": list(_INPUTS if self.takes_is_expert else _INPUTS[:4]),
        }
        torch.jit.save(traced, os.fspath(path), _extra_files={"meta.json": json.dumps(meta)})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RecoveredReward:
        """Read a file written by :meth:`save`."""
        files = {"meta.json": ""}
        module = torch.jit.load(os.fspath(path), _extra_files=files)
        meta = json.loads(files["meta.json"])
        return cls(
            module,
            observation_shape=tuple(meta["observation_shape"]),
            action_shape=tuple(meta["action_shape"]),
            discrete=bool(meta["discrete"]),
            takes_is_expert="is_expert" in meta.get("inputs", _INPUTS[:4]),
        )
