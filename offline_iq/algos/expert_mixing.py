"""What every imitation learner here shares: batches that know their expert rows.

Offline (``fit``), every row of a batch is expert data. Online (``fit_online``) and with logged
data (``fit_mixed``), the algorithm trains on an
:class:`~offline_iq.data.mixing.ExpertMixingReplayBuffer` built around the demonstrations
attached with :meth:`ExpertMixingAlgoBase.attach_demonstrations`, whose batches mark their expert
rows. The one hook on d3rlpy's update path is the torch batch: :meth:`ExpertTorchMiniBatch.
from_batch` carries that mask (and, for the ``v0`` objective, a batch of true initial states) to
the impl.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Generator
from typing import Any, Generic, Self, TypeVar

import numpy as np
import torch
from d3rlpy.algos.qlearning.base import QLearningAlgoBase, QLearningAlgoImplBase
from d3rlpy.base import LearnableConfig
from d3rlpy.constants import ActionSpace
from d3rlpy.dataset import ReplayBufferBase, TransitionMiniBatch
from d3rlpy.dataset.utils import detect_action_space_from_env
from d3rlpy.torch_utility import TorchMiniBatch

from offline_iq.data.mixing import (
    ExpertMixingReplayBuffer,
    MixedTransitionMiniBatch,
    episodes_terminate,
    initial_observations,
)
from offline_iq.preprocessing import (
    ClippedStandardObservationScaler,
    fit_action_scaler,
    fit_observation_scaler,
)

__all__ = ["ExpertMixingAlgoBase", "ExpertTorchMiniBatch"]

TImpl = TypeVar("TImpl", bound=QLearningAlgoImplBase)
TConfig = TypeVar("TConfig", bound=LearnableConfig)


@dataclasses.dataclass(frozen=True)
class ExpertTorchMiniBatch(TorchMiniBatch):
    """A d3rlpy torch batch plus which rows are expert and optional true initial states."""

    is_expert: torch.Tensor | None = None  # (B,) bool
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
        :class:`~offline_iq.data.mixing.MixedTransitionMiniBatch` (every row of a plain batch
        is expert) and ``initial_observations``."""
        base = TorchMiniBatch.from_batch(
            batch=batch,
            gamma=config.gamma,
            compute_returns_to_go=False,
            device=device,
            observation_scaler=config.observation_scaler,
            action_scaler=config.action_scaler,
            reward_scaler=config.reward_scaler,
        )
        if isinstance(batch, MixedTransitionMiniBatch):
            is_expert = torch.as_tensor(batch.is_expert, device=base.actions.device)
        else:
            is_expert = torch.ones(len(base.actions), dtype=torch.bool, device=base.actions.device)
        fields = {field.name: getattr(base, field.name) for field in dataclasses.fields(base)}
        return cls(**fields, is_expert=is_expert, initial_observations=initial_observations)

    def expert_mask(self) -> torch.Tensor:
        """Return the ``(B,)`` bool mask of expert rows (all ``True`` if ``is_expert`` is None)."""
        if self.is_expert is None:
            return torch.ones(self.actions.shape[0], dtype=torch.bool, device=self.actions.device)
        return self.is_expert


class ExpertMixingAlgoBase(QLearningAlgoBase[TImpl, TConfig], Generic[TImpl, TConfig]):
    """``QLearningAlgoBase`` whose batches know expert rows from policy rows."""

    _demonstrations: ReplayBufferBase | None = None
    _initial_observations: np.ndarray | None = None

    @property
    def demonstrations(self) -> ReplayBufferBase | None:
        """The expert data used by ``fit_online`` and ``fit_mixed``."""
        return self._demonstrations

    def attach_demonstrations(self, demonstrations: ReplayBufferBase) -> Self:
        """Use ``demonstrations`` as the expert half of every online or mixed batch."""
        if demonstrations.transition_count == 0:
            raise ValueError("demonstrations are empty")
        self._demonstrations = demonstrations
        self._initial_observations = initial_observations(demonstrations)
        return self

    @property
    def needs_initial_observations(self) -> bool:
        """Whether batches carry true initial states (the ``v0`` objective)."""
        return False

    def fitter(
        self, dataset: ReplayBufferBase, *args: Any, **kwargs: Any
    ) -> Generator[tuple[int, dict[str, float]], None, None]:
        """d3rlpy's offline loop; rows of ``dataset`` are expert data unless it mixes its own
        (an :class:`~offline_iq.data.mixing.ExpertMixingReplayBuffer`)."""
        self._check_action_space(dataset.dataset_info.action_space, "the dataset")
        if self.needs_initial_observations:
            self._initial_observations = initial_observations(dataset)
        fit_observation_scaler(self._config.observation_scaler, dataset)
        fit_action_scaler(self._config.action_scaler, dataset)
        yield from super().fitter(dataset, *args, **kwargs)

    def fit_mixed(self, policy_data: ReplayBufferBase, **fit_kwargs: Any) -> list[Any]:
        """Offline, with non-expert data: ``fit`` on ``policy_data`` as the policy rows, each
        batch joined by as many rows of the attached demonstrations (as ``fit_online`` does).

        Logged sub-optimal or random transitions then play the part of policy samples, which
        the ``value`` objective and the mixture regulariser use to push rewards down away from
        the expert (useful for reward recovery).
        """
        demonstrations = self._require_demonstrations("fit_mixed")
        fit_observation_scaler(self._config.observation_scaler, demonstrations)
        return list(
            self.fitter(ExpertMixingReplayBuffer(policy_data, demonstrations), **fit_kwargs)
        )

    def fit_online(self, env: Any, buffer: ReplayBufferBase | None = None, **kwargs: Any) -> None:
        """d3rlpy's online loop; batches are half replay (policy), half demonstrations.

        An unfitted observation scaler is fitted on the demonstrations (d3rlpy's online default
        would use random env samples); action scalers still come from the env's space. The
        learners' online configs (``for_online``) standardise without clipping.
        """
        demonstrations = self._require_demonstrations("fit_online")
        self._check_action_space(detect_action_space_from_env(env), f"environment {env}")
        self._warn_about_online_settings(demonstrations)
        fit_observation_scaler(self._config.observation_scaler, demonstrations)
        if buffer is None:
            from d3rlpy.dataset import create_fifo_replay_buffer

            buffer = create_fifo_replay_buffer(1_000_000, env=env)
        super().fit_online(env, ExpertMixingReplayBuffer(buffer, demonstrations), **kwargs)

    def update(self, batch: TransitionMiniBatch) -> dict[str, float]:
        """One gradient step on ``batch`` (d3rlpy's update with :class:`ExpertTorchMiniBatch`)."""
        assert self._impl is not None, "call build_with_dataset or fit first"
        initial = None
        if self.needs_initial_observations:
            initial = self._sample_initial(int(np.asarray(batch.actions).shape[0]))
        torch_batch = ExpertTorchMiniBatch.from_transition_batch(
            batch, self._config, self._device, initial
        )
        loss = self._impl.update(torch_batch, self._grad_step)
        self._grad_step += 1
        return loss

    def _require_demonstrations(self, method: str) -> ReplayBufferBase:
        if self._demonstrations is None:
            raise ValueError(
                f"{type(self).__name__}.{method} needs expert data: call "
                "attach_demonstrations(load_minari(...)) first"
            )
        return self._demonstrations

    def _warn_about_online_settings(self, demonstrations: ReplayBufferBase) -> None:
        if getattr(self._config, "absorbing", False) and episodes_terminate(demonstrations):
            warnings.warn(
                "absorbing=True values the agent's terminations as failures, but the "
                "demonstrations' own episodes terminate (a goal?): the agent learns to avoid "
                "the goal; pass absorbing=False",
                stacklevel=3,
            )
        scaler = self._config.observation_scaler
        if isinstance(scaler, ClippedStandardObservationScaler) and scaler.clip is not None:
            warnings.warn(
                "the observation scaler clips standardised features: online the agent visits "
                "states far from the demonstrations, which a clip merges; use the config's "
                "for_online() or observation_scaler=StandardObservationScaler()",
                stacklevel=3,
            )

    def _check_action_space(self, found: ActionSpace, where: str) -> None:
        wanted = self.get_action_type()
        if wanted not in (ActionSpace.BOTH, found):
            kind = {ActionSpace.DISCRETE: "discrete", ActionSpace.CONTINUOUS: "continuous"}
            raise ValueError(
                f"{type(self).__name__} needs {kind[wanted]} actions but {where} has "
                f"{kind.get(found, str(found))} actions; use the "
                f"{'continuous' if wanted == ActionSpace.DISCRETE else 'discrete'} variant"
            )

    def _sample_initial(self, n: int) -> torch.Tensor:
        if self._initial_observations is None:
            raise ValueError("no initial states: fit on a dataset or attach demonstrations")
        index = np.random.randint(len(self._initial_observations), size=n)
        x = torch.as_tensor(self._initial_observations[index], device=self._device)
        scaler = self._config.observation_scaler
        return scaler.transform(x) if scaler is not None and scaler.built else x
