"""Torch batches that know their expert rows, and a dataset's transitions kept as torch tensors.

:class:`ExpertTorchMiniBatch` is the one hook on d3rlpy's update path: a d3rlpy torch batch plus
the expert mask of a mixed batch (and, for the ``v0`` objective, a batch of true initial states).

Offline, every batch is rows of one :class:`~offline_iq.data.buffer.ExpertReplayBuffer`, and the
learner's scalers are fitted before the first step and fixed after it. :class:`ScaledTransitions`
converts the buffer's arrays to tensors once and applies the scalers to every row once; a batch
is then one gather per field (d3rlpy would convert each batch from numpy and scale it again).
The scalers act row by row and elementwise, so each gathered row is bit for bit the row d3rlpy
would have built.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from d3rlpy.base import LearnableConfig
from d3rlpy.dataset import TransitionMiniBatch
from d3rlpy.torch_utility import TorchMiniBatch, convert_to_torch

from offline_iq.data.buffer import ExpertReplayBuffer, IndexedTransitionMiniBatch
from offline_iq.data.mixing import MixedTransitionMiniBatch

__all__ = ["ExpertTorchMiniBatch", "ScaledTransitions"]


@dataclasses.dataclass(frozen=True)
class ExpertTorchMiniBatch(TorchMiniBatch):
    """A d3rlpy torch batch plus which rows are expert and optional true initial states.

    ``is_expert`` is ``None`` when every row is expert (offline), which spares the learners a
    mask they would only index with.
    """

    is_expert: torch.Tensor | None = None  # (B,) bool; None: every row is expert
    initial_observations: torch.Tensor | None = None  # (B0, *obs_shape)

    @classmethod
    def from_transition_batch(
        cls,
        batch: TransitionMiniBatch,
        config: LearnableConfig,
        device: str,
        initial_observations: torch.Tensor | None = None,
    ) -> ExpertTorchMiniBatch:
        """d3rlpy's conversion with ``config``'s scalers, plus the expert mask of a
        :class:`~offline_iq.data.mixing.MixedTransitionMiniBatch` (``None``, every row expert,
        for a plain batch) and ``initial_observations``."""
        base = TorchMiniBatch.from_batch(
            batch=batch,
            gamma=config.gamma,
            compute_returns_to_go=False,
            device=device,
            observation_scaler=config.observation_scaler,
            action_scaler=config.action_scaler,
            reward_scaler=config.reward_scaler,
        )
        is_expert = None
        if isinstance(batch, MixedTransitionMiniBatch):
            is_expert = torch.as_tensor(batch.is_expert, device=base.actions.device)
        fields = {field.name: getattr(base, field.name) for field in dataclasses.fields(base)}
        return cls(**fields, is_expert=is_expert, initial_observations=initial_observations)

    @classmethod
    def concatenate(
        cls, policy: ExpertTorchMiniBatch, expert: ExpertTorchMiniBatch, numpy_batch: object
    ) -> ExpertTorchMiniBatch:
        """The rows of ``policy`` then those of ``expert``, the expert rows marked (what
        :meth:`from_transition_batch` makes of the joined numpy batch ``numpy_batch``)."""
        names = (
            "observations", "actions", "rewards", "next_observations", "next_actions",
            "returns_to_go", "terminals", "intervals",
        )  # fmt: skip
        rows = {name: torch.cat([getattr(policy, name), getattr(expert, name)]) for name in names}
        mask = torch.zeros(rows["actions"].shape[0], dtype=torch.bool, device=policy.device)
        mask[policy.actions.shape[0] :] = True
        return cls(
            **rows,
            device=policy.device,
            numpy_batch=numpy_batch,
            is_expert=mask,
            initial_observations=policy.initial_observations,
        )

    def expert_mask(self) -> torch.Tensor:
        """Return the ``(B,)`` bool mask of expert rows (all ``True`` if ``is_expert`` is None)."""
        if self.is_expert is None:
            return torch.ones(self.actions.shape[0], dtype=torch.bool, device=self.actions.device)
        return self.is_expert


@dataclasses.dataclass(frozen=True, eq=False)
class ScaledTransitions:
    """Every transition of ``source`` as tensors on ``device``, scaled by a learner's scalers.

    Built from the learner's config when its scalers are final (fitted); a batch of rows is then
    :meth:`batch`. The tensors share memory with the buffer's arrays where nothing is scaled.
    """

    source: ExpertReplayBuffer
    observations: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_observations: torch.Tensor
    next_actions: torch.Tensor
    terminals: torch.Tensor
    device: str

    @classmethod
    def build(
        cls, source: ExpertReplayBuffer, config: LearnableConfig, device: str
    ) -> ScaledTransitions:
        """``source``'s transitions converted and scaled as d3rlpy converts a batch."""
        arrays = source.transitions

        def tensor(array: np.ndarray) -> torch.Tensor:  # d3rlpy's dtype rule, without a copy
            if array.dtype in (np.uint8, np.float32):
                return torch.as_tensor(array, device=device).float()
            return convert_to_torch(array, device)

        obs, next_obs = tensor(arrays.observations), tensor(arrays.next_observations)
        actions, next_actions = tensor(arrays.actions), tensor(arrays.next_actions)
        rewards = tensor(arrays.rewards)
        if config.observation_scaler is not None:
            obs = config.observation_scaler.transform(obs)
            next_obs = config.observation_scaler.transform(next_obs)
        if config.action_scaler is not None:
            actions = config.action_scaler.transform(actions)
            next_actions = config.action_scaler.transform(next_actions)
        if config.reward_scaler is not None:
            rewards = config.reward_scaler.transform(rewards)
        terminals = tensor(arrays.terminals)
        return cls(source, obs, actions, rewards, next_obs, next_actions, terminals, device)

    def batch(
        self,
        batch: IndexedTransitionMiniBatch,
        initial_observations: torch.Tensor | None = None,
    ) -> ExpertTorchMiniBatch:
        """The rows of ``batch`` (drawn from :attr:`source`) as an all-expert torch batch: what
        ``from_transition_batch`` makes of it, gathered from the tensors instead."""
        index = torch.from_numpy(np.asarray(batch.indices, dtype=np.int64)).to(self.device)
        rewards = self.rewards[index]
        return ExpertTorchMiniBatch(
            observations=self.observations[index],
            actions=self.actions[index],
            rewards=rewards,
            next_observations=self.next_observations[index],
            next_actions=self.next_actions[index],
            returns_to_go=torch.zeros_like(rewards),
            terminals=self.terminals[index],
            intervals=torch.ones_like(rewards),
            device=self.device,
            numpy_batch=batch,
            initial_observations=initial_observations,
        )
