"""What every imitation learner here shares: an expert mask on batches, offline and online.

Offline (``fit``), every row of a batch is expert data. Online (``fit_online``), d3rlpy's replay
batch is policy data and an equal-sized batch is drawn from demonstrations attached with
:meth:`ExpertMixingAlgoBase.attach_demonstrations` (IQ-Learn, sec. 5.1: half policy, half
expert); the batch reaching the impl carries a boolean ``is_expert`` row mask and, for the
``v0`` objective, a batch of true initial states.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Generator
from types import SimpleNamespace
from typing import Any, Generic, Self, TypeVar

import numpy as np
import torch
from d3rlpy.algos.qlearning.base import QLearningAlgoBase, QLearningAlgoImplBase
from d3rlpy.base import LearnableConfig
from d3rlpy.constants import ActionSpace
from d3rlpy.dataset import ReplayBufferBase, TransitionMiniBatch
from d3rlpy.dataset.utils import detect_action_space_from_env
from d3rlpy.preprocessing import StandardObservationScaler
from d3rlpy.torch_utility import TorchMiniBatch

from offline_iq.data.buffer import ExpertReplayBuffer
from offline_iq.preprocessing import ClippedStandardObservationScaler

__all__ = [
    "ExpertMixingAlgoBase",
    "ExpertTorchMiniBatch",
    "concat_batches",
    "demonstrations_terminate",
    "initial_observations",
]

TImpl = TypeVar("TImpl", bound=QLearningAlgoImplBase)
TConfig = TypeVar("TConfig", bound=LearnableConfig)


@dataclasses.dataclass(frozen=True)
class ExpertTorchMiniBatch(TorchMiniBatch):
    """A d3rlpy torch batch plus which rows are expert and optional true initial states."""

    is_expert: torch.Tensor | None = None  # (B,) bool
    initial_observations: torch.Tensor | None = None  # (B0, *obs_shape)

    def expert_mask(self) -> torch.Tensor:
        """Return the ``(B,)`` bool mask of expert rows (all ``True`` if ``is_expert`` is None)."""
        if self.is_expert is None:
            return torch.ones(self.actions.shape[0], dtype=torch.bool, device=self.actions.device)
        return self.is_expert


def concat_batches(first: TransitionMiniBatch, second: TransitionMiniBatch) -> TransitionMiniBatch:
    """Rows of ``first`` then rows of ``second`` as one mini-batch."""

    def cat(a: Any, b: Any) -> Any:
        return np.concatenate([np.asarray(a), np.asarray(b)], axis=0)

    return TransitionMiniBatch(
        observations=cat(first.observations, second.observations),
        actions=cat(first.actions, second.actions),
        rewards=cat(first.rewards, second.rewards),
        next_observations=cat(first.next_observations, second.next_observations),
        next_actions=cat(first.next_actions, second.next_actions),
        terminals=cat(first.terminals, second.terminals),
        intervals=cat(first.intervals, second.intervals),
        transitions=[],
    )


def initial_observations(dataset: ReplayBufferBase) -> np.ndarray:
    """True initial states ``o_0`` of a dataset's episodes."""
    if isinstance(dataset, ExpertReplayBuffer):
        return dataset.initial_observations
    firsts = [np.asarray(ep.observations)[0] for ep in dataset.episodes]
    if not firsts:
        raise ValueError("the dataset has no episodes to take initial states from")
    return np.stack(firsts).astype(np.float32)


def demonstrations_terminate(dataset: ReplayBufferBase) -> bool:
    """Whether any episode of ``dataset`` ends by termination (not by truncation)."""
    return any(bool(episode.terminated) for episode in dataset.episodes)


class ExpertMixingAlgoBase(QLearningAlgoBase[TImpl, TConfig], Generic[TImpl, TConfig]):
    """``QLearningAlgoBase`` whose ``update`` knows expert rows from policy rows."""

    _demonstrations: ReplayBufferBase | None = None
    _initial_observations: np.ndarray | None = None
    _mixing: bool = False

    @property
    def demonstrations(self) -> ReplayBufferBase | None:
        """The expert data used by ``fit_online`` (and for initial states)."""
        return self._demonstrations

    def attach_demonstrations(self, demonstrations: ReplayBufferBase) -> Self:
        """Use ``demonstrations`` as the expert half of every online batch."""
        if demonstrations.transition_count == 0:
            raise ValueError("demonstrations are empty")
        self._demonstrations = demonstrations
        self._initial_observations = initial_observations(demonstrations)
        return self

    @property
    def needs_initial_observations(self) -> bool:
        """Whether ``update`` must attach initial states (the ``v0`` objective)."""
        return False

    def fitter(
        self, dataset: ReplayBufferBase, *args: Any, **kwargs: Any
    ) -> Generator[tuple[int, dict[str, float]], None, None]:
        """d3rlpy's offline loop; every row of ``dataset`` is treated as expert data."""
        self._check_action_space(dataset.dataset_info.action_space, "the dataset")
        if self.needs_initial_observations:
            self._initial_observations = initial_observations(dataset)
        self._fit_observation_scaler(dataset)
        action_scaler = self._config.action_scaler
        space = getattr(getattr(dataset, "metadata", None), "action_space", None)
        if action_scaler is not None and not action_scaler.built and space is not None:
            # scale to the action space's bounds, not to the range the expert happened to use
            action_scaler.fit_with_env(SimpleNamespace(action_space=space))
        yield from super().fitter(dataset, *args, **kwargs)

    def fit_mixed(self, policy_data: ReplayBufferBase, **fit_kwargs: Any) -> list[Any]:
        """Offline, with non-expert data: ``fit`` on ``policy_data`` as the policy rows, each
        batch joined by as many rows of the attached demonstrations (as ``fit_online`` does).

        Logged sub-optimal or random transitions then play the part of policy samples, which
        the ``value`` objective and the mixture regulariser use to push rewards down away from
        the expert (useful for reward recovery).
        """
        if self._demonstrations is None:
            raise ValueError(
                f"{type(self).__name__}.fit_mixed needs expert data: call "
                "attach_demonstrations(load_minari(...)) first"
            )
        self._fit_observation_scaler(self._demonstrations)
        self._mixing = True
        try:
            return list(self.fitter(policy_data, **fit_kwargs))
        finally:
            self._mixing = False

    def fit_online(self, env: Any, buffer: ReplayBufferBase | None = None, **kwargs: Any) -> None:
        """d3rlpy's online loop; batches are half replay (policy), half demonstrations.

        An unfitted observation scaler is fitted on the demonstrations; the default clipped one
        is fitted unclipped (see
        :class:`~offline_iq.preprocessing.ClippedStandardObservationScaler`).
        """
        if self._demonstrations is None:
            raise ValueError(
                f"{type(self).__name__}.fit_online needs expert data: call "
                "attach_demonstrations(load_minari(...)) first"
            )
        self._check_action_space(detect_action_space_from_env(env), f"environment {env}")
        if getattr(self._config, "absorbing", False) and demonstrations_terminate(
            self._demonstrations
        ):
            warnings.warn(
                "absorbing=True values the agent's terminations as failures, but the "
                "demonstrations' own episodes terminate (a goal?): the agent learns to avoid "
                "the goal; pass absorbing=False",
                stacklevel=2,
            )
        # standardise observations with the expert data, not random env samples (d3rlpy's
        # online default), without clipping; action scalers still come from the env's space.
        self._fit_observation_scaler(self._demonstrations, online=True)
        self._mixing = True
        try:
            super().fit_online(env, buffer, **kwargs)
        finally:
            self._mixing = False

    def _fit_observation_scaler(self, dataset: ReplayBufferBase, online: bool = False) -> None:
        """Fit an unfitted observation scaler on ``dataset`` (standard: full-episode statistics).

        ``online``: an unfitted :class:`ClippedStandardObservationScaler` is fitted unclipped
        (``clip=None``): online the agent learns about states far from the demonstrations.
        """
        scaler = self._config.observation_scaler
        if scaler is None or scaler.built:
            return
        if online and isinstance(scaler, ClippedStandardObservationScaler):
            scaler.clip = None
        if isinstance(scaler, StandardObservationScaler) and isinstance(
            dataset, ExpertReplayBuffer
        ):
            fitted = dataset.standard_observation_scaler()
            scaler.mean, scaler.std = fitted.mean, fitted.std
        else:
            scaler.fit_with_transition_picker(dataset.episodes, dataset.transition_picker)

    def _check_action_space(self, found: ActionSpace, where: str) -> None:
        wanted = self.get_action_type()
        if wanted not in (ActionSpace.BOTH, found):
            kind = {ActionSpace.DISCRETE: "discrete", ActionSpace.CONTINUOUS: "continuous"}
            raise ValueError(
                f"{type(self).__name__} needs {kind[wanted]} actions but {where} has "
                f"{kind.get(found, str(found))} actions; use the "
                f"{'continuous' if wanted == ActionSpace.DISCRETE else 'discrete'} variant"
            )

    def update(self, batch: TransitionMiniBatch) -> dict[str, float]:
        """One gradient step; online, ``batch`` (policy) is joined by an expert batch."""
        assert self._impl is not None, "call build_with_dataset or fit first"
        n_policy = 0
        if self._mixing:
            assert self._demonstrations is not None
            n_policy = int(np.asarray(batch.actions).shape[0])
            expert = self._demonstrations.sample_transition_batch(n_policy)
            batch = concat_batches(batch, expert)
        torch_batch = TorchMiniBatch.from_batch(
            batch=batch,
            gamma=self._config.gamma,
            compute_returns_to_go=False,
            device=self._device,
            observation_scaler=self._config.observation_scaler,
            action_scaler=self._config.action_scaler,
            reward_scaler=self._config.reward_scaler,
        )
        n_rows = int(torch_batch.actions.shape[0])
        is_expert = torch.ones(n_rows, dtype=torch.bool, device=self._device)
        is_expert[:n_policy] = False
        initial = None
        if self.needs_initial_observations:
            initial = self._sample_initial(n_rows)
        fields = {f.name: getattr(torch_batch, f.name) for f in dataclasses.fields(torch_batch)}
        expert_batch = ExpertTorchMiniBatch(
            **fields, is_expert=is_expert, initial_observations=initial
        )
        loss = self._impl.update(expert_batch, self._grad_step)
        self._grad_step += 1
        return loss

    def _sample_initial(self, n: int) -> torch.Tensor:
        if self._initial_observations is None:
            raise ValueError("no initial states: fit on a dataset or attach demonstrations")
        index = np.random.randint(len(self._initial_observations), size=n)
        x = torch.as_tensor(self._initial_observations[index], device=self._device)
        scaler = self._config.observation_scaler
        return scaler.transform(x) if scaler is not None and scaler.built else x
