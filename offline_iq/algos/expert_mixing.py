"""What every imitation learner here shares: batches that know their expert rows.

Offline (``fit``), every row of a batch is expert data. Online (``fit_online``) and with logged
data (``fit_mixed``), the algorithm trains on an
:class:`~offline_iq.data.mixing.ExpertMixingReplayBuffer` built around the demonstrations
attached with :meth:`ExpertMixingAlgoBase.attach_demonstrations`, whose batches mark their expert
rows. The one hook on d3rlpy's update path is the torch batch
(:class:`~offline_iq.algos.torch_batches.ExpertTorchMiniBatch`), which carries that mask (and,
for the ``v0`` objective, a batch of true initial states) to the impl. While ``fitter`` runs on
an :class:`~offline_iq.data.buffer.ExpertReplayBuffer`, batches are gathered from its rows kept
as scaled tensors (:class:`~offline_iq.algos.torch_batches.ScaledTransitions`).
"""

from __future__ import annotations

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

from offline_iq.algos.torch_batches import ExpertTorchMiniBatch, ScaledTransitions
from offline_iq.data.buffer import ExpertReplayBuffer, IndexedTransitionMiniBatch
from offline_iq.data.mixing import (
    ExpertMixingReplayBuffer,
    MixedTransitionMiniBatch,
    initial_observations,
    terminations_are_goals,
)
from offline_iq.preprocessing import (
    ClippedStandardObservationScaler,
    fit_action_scaler,
    fit_observation_scaler,
)

__all__ = ["ExpertMixingAlgoBase", "ExpertTorchMiniBatch"]

TImpl = TypeVar("TImpl", bound=QLearningAlgoImplBase)
TConfig = TypeVar("TConfig", bound=LearnableConfig)


def _tensor_sources(dataset: ReplayBufferBase) -> tuple[ExpertReplayBuffer, ...] | None:
    """The buffers whose rows a learner may gather from tensors: ``dataset`` itself, or the
    policy and expert parts of a mixing buffer, when they are ExpertReplayBuffers."""
    if isinstance(dataset, ExpertReplayBuffer):
        return (dataset,)
    if isinstance(dataset, ExpertMixingReplayBuffer) and all(
        isinstance(part, ExpertReplayBuffer) for part in (dataset.policy, dataset.expert)
    ):
        return (dataset.policy, dataset.expert)
    return None


class ExpertMixingAlgoBase(QLearningAlgoBase[TImpl, TConfig], Generic[TImpl, TConfig]):
    """``QLearningAlgoBase`` whose batches know expert rows from policy rows."""

    _demonstrations: ReplayBufferBase | None = None
    _initial_observations: np.ndarray | None = None
    # while ``fitter`` runs on an ExpertReplayBuffer: that buffer, and its rows as tensors
    # (on a mixing buffer of two ExpertReplayBuffers: both, policy rows first)
    _tensor_source: tuple[ExpertReplayBuffer, ...] | None = None
    _scaled_transitions: tuple[ScaledTransitions, ...] | None = None

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
            self._initial_observations = self._initial_observations_of(dataset)
        fit_observation_scaler(self._config.observation_scaler, dataset)
        fit_action_scaler(self._config.action_scaler, dataset)
        self._scaled_transitions = None
        self._tensor_source = _tensor_sources(dataset)
        try:
            yield from super().fitter(dataset, *args, **kwargs)
        finally:
            self._tensor_source = self._scaled_transitions = None

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
            from offline_iq.data.online_buffer import create_fast_fifo_replay_buffer

            buffer = create_fast_fifo_replay_buffer(1_000_000, env=env)
        super().fit_online(env, ExpertMixingReplayBuffer(buffer, demonstrations), **kwargs)

    def update(self, batch: TransitionMiniBatch) -> dict[str, float]:
        """One gradient step on ``batch`` (d3rlpy's update with :class:`ExpertTorchMiniBatch`)."""
        assert self._impl is not None, "call build_with_dataset or fit first"
        initial = None
        if self.needs_initial_observations:
            initial = self._sample_initial(len(batch))
        loss = self._impl.update(self._torch_batch(batch, initial), self._grad_step)
        self._grad_step += 1
        return loss

    def _torch_batch(
        self, batch: TransitionMiniBatch, initial: torch.Tensor | None
    ) -> ExpertTorchMiniBatch:
        """``batch`` on the device, scaled; gathered from tensors when it holds rows of the
        buffer(s) ``fitter`` runs on (whose scalers are final by the first step): bit for bit
        what d3rlpy's conversion gives (the scalers act row by row)."""
        sources = self._tensor_source
        parts: tuple[TransitionMiniBatch, ...] = (batch,)
        if isinstance(batch, MixedTransitionMiniBatch):
            parts = batch.parts
        if (
            sources is None
            or len(parts) != len(sources)
            or not all(
                isinstance(part, IndexedTransitionMiniBatch) and part.source is source
                for part, source in zip(parts, sources, strict=True)
            )
        ):
            return ExpertTorchMiniBatch.from_transition_batch(
                batch, self._config, self._device, initial
            )
        if self._scaled_transitions is None:
            self._scaled_transitions = tuple(
                ScaledTransitions.build(source, self._config, self._device) for source in sources
            )
        gathered = [
            scaled.batch(part, initial)
            for scaled, part in zip(self._scaled_transitions, parts, strict=True)
        ]
        if len(gathered) == 1:
            return gathered[0]
        return ExpertTorchMiniBatch.concatenate(gathered[0], gathered[1], batch)

    def _require_demonstrations(self, method: str) -> ReplayBufferBase:
        if self._demonstrations is None:
            raise ValueError(
                f"{type(self).__name__}.{method} needs expert data: call "
                "attach_demonstrations(load_minari(...)) first"
            )
        return self._demonstrations

    def _warn_about_online_settings(self, demonstrations: ReplayBufferBase) -> None:
        if getattr(self._config, "absorbing", False) and terminations_are_goals(demonstrations):
            warnings.warn(
                "absorbing=True values the agent's terminations as failures, but most of the "
                "expert's episodes terminate (a goal?): the agent learns to avoid the goal; "
                "pass absorbing=False",
                stacklevel=3,
            )
        if getattr(self._config, "logged_bc_weight", 0.0) > 0:
            warnings.warn(
                "logged_bc_weight clones the policy rows, which online are the agent's own "
                "replay: it is meant for fit_mixed with logged data; pass logged_bc_weight=0",
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

    def _initial_observations_of(self, dataset: ReplayBufferBase) -> np.ndarray:
        """The initial states ``fitter`` samples from: those of ``dataset``'s episodes (of its
        policy rows when it mixes expert and policy rows)."""
        return initial_observations(dataset)

    def _sample_initial(self, n: int) -> torch.Tensor:
        if self._initial_observations is None:
            raise ValueError("no initial states: fit on a dataset or attach demonstrations")
        index = np.random.randint(len(self._initial_observations), size=n)
        x = torch.as_tensor(self._initial_observations[index], device=self._device)
        scaler = self._config.observation_scaler
        return scaler.transform(x) if scaler is not None and scaler.built else x
