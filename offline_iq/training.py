"""The one training driver: chunks of a fixed budget, online warm-up, checkpoints and resume.

``offline-iq fit`` and the benchmark's cells both train through :func:`train_in_chunks`, which
yields after every chunk (the caller evaluates there); ``offline-iq fit`` keeps its run in a
folder (:class:`RunState`, the model and, online, the replay buffer) through
:func:`save_checkpoint` and :func:`load_checkpoint`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import d3rlpy
import gymnasium as gym
from d3rlpy.dataset import ReplayBufferBase

from offline_iq.data.buffer import DatasetMetadata, ExpertReplayBuffer
from offline_iq.data.logged import check_logged, join_logged
from offline_iq.data.mixing import ExpertMixingReplayBuffer
from offline_iq.data.replay_checkpoint import (
    REPLAY_CAPACITY,
    load_or_create_replay_buffer,
    save_replay_buffer,
)

__all__ = [
    "CHECKPOINT",
    "ONLINE_WARMUP",
    "STATE",
    "RunState",
    "load_checkpoint",
    "logged_training_data",
    "online_envs",
    "replay_buffer",
    "save_checkpoint",
    "train_in_chunks",
]

CHECKPOINT, STATE, BUFFER = "checkpoint.d3", "state.json", "buffer.h5"
ONLINE_WARMUP = 1000  # env steps of random actions before the first online update


def train_in_chunks(
    algo: Any,
    data: ReplayBufferBase,
    *,
    steps: int,
    chunk: int,
    done: int = 0,
    env: Any = None,
    buffer: ReplayBufferBase | None = None,
    warmup: int = ONLINE_WARMUP,
    **fit_kwargs: Any,
) -> Iterator[int]:
    """Train ``algo`` from step ``done`` to ``steps`` in chunks of ``chunk`` steps (the last may
    be shorter), yielding the steps done after each chunk.

    Offline (``env is None``) the steps are gradient steps on ``data``, run by d3rlpy's
    ``fitter`` (one call for the whole chunks, one for a shorter last chunk). Online the
    demonstrations ``data`` must be attached already; the steps are environment steps of
    ``fit_online`` in ``env`` with ``buffer``, updates starting after ``warmup`` steps of a
    fresh run (``done == 0``), or of a resumed run whose ``buffer`` is empty (its file lost):
    the current policy refills it first, so no update fits a handful of transitions.
    ``fit_kwargs`` go to d3rlpy (logger, progress).
    """
    if steps < 1 or chunk < 1:
        raise ValueError(f"steps and chunk must be >= 1, got {steps} and {chunk}")
    fit_kwargs.setdefault("logger_adapter", d3rlpy.logging.NoopAdapterFactory())
    fit_kwargs.setdefault("show_progress", False)
    remaining = steps - done
    if remaining <= 0:
        return
    if env is None:
        yield from _offline_chunks(algo, data, done, remaining, chunk, fit_kwargs)
        return
    # a resumed run whose buffer was lost (a fresh clone: no buffer.h5) refills before updating
    refill = warmup if done > 0 and buffer is not None and buffer.transition_count == 0 else 0
    while done < steps:
        n = min(chunk, steps - done)
        start = warmup if done == 0 else refill
        algo.fit_online(
            env, buffer, n_steps=n, n_steps_per_epoch=n, update_start_step=start, **fit_kwargs
        )
        refill = max(0, refill - n)
        done += n
        yield done


def logged_training_data(
    algo: Any, expert: ExpertReplayBuffer, logged: ExpertReplayBuffer
) -> ReplayBufferBase:
    """What ``algo`` trains on given demonstrations ``expert`` and ``logged`` data.

    A learner whose batches know expert rows (IQ-Learn, ValueDICE, DemoDICE: an
    :class:`~offline_iq.algos.expert_mixing.ExpertMixingAlgoBase`) gets ``expert`` attached as
    demonstrations and an :class:`~offline_iq.data.mixing.ExpertMixingReplayBuffer` whose batches
    are half logged rows, half expert rows (as ``fit_mixed``); any other learner (BC) gets the
    union of the two (:func:`~offline_iq.data.logged.join_logged`).
    """
    from offline_iq.algos.expert_mixing import ExpertMixingAlgoBase

    check_logged(expert, logged)
    if isinstance(algo, ExpertMixingAlgoBase):
        algo.attach_demonstrations(expert)
        return ExpertMixingReplayBuffer(logged, expert)
    return join_logged(expert, logged)


def _offline_chunks(
    algo: Any, data: ReplayBufferBase, done: int, remaining: int, chunk: int, kwargs: Any
) -> Iterator[int]:
    whole, rest = divmod(remaining, chunk)
    for size, count in ((chunk, whole), (rest, 1 if rest else 0)):
        if count == 0:
            continue
        for _epoch, _metrics in algo.fitter(
            data, n_steps=size * count, n_steps_per_epoch=size, **kwargs
        ):
            done += size
            yield done


@dataclasses.dataclass(frozen=True)
class RunState:
    """What ``offline-iq fit`` records about a run (``state.json`` in its folder).

    ``trained_episodes`` are the Minari episode ids of the demonstrations trained on (``None``
    in folders written before this was recorded); ``offline-iq rewards`` scores on the others.
    ``logged`` is the logged dataset of ``offline-iq fit --logged`` (``None``: none).
    """

    dataset: str
    algo: str
    demos: int | None
    subsample: int
    seed: int
    online: str | None = None
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    steps_done: int = 0
    evaluations: tuple[tuple[int, float], ...] = ()
    trained_episodes: tuple[int, ...] | None = None
    logged: str | None = None  # the logged dataset trained on beside the demonstrations
    replay_capacity: int = REPLAY_CAPACITY  # online: policy transitions the FIFO keeps

    def after_chunk(self, steps_done: int, mean_return: float | None) -> RunState:
        """This state after a chunk ending at ``steps_done`` (and its evaluation, if any)."""
        evaluations = self.evaluations
        if mean_return is not None:
            evaluations = (*evaluations, (steps_done, mean_return))
        return dataclasses.replace(self, steps_done=steps_done, evaluations=evaluations)

    def to_json(self) -> str:
        """The state as JSON (``evaluations`` as ``[step, mean return]`` pairs)."""
        record = dataclasses.asdict(self)
        record["options"] = dict(self.options)
        record["evaluations"] = [list(pair) for pair in self.evaluations]
        return json.dumps(record, indent=2)

    @classmethod
    def from_json(cls, text: str) -> RunState:
        """Read :meth:`to_json`'s output back (unknown keys are an error)."""
        record = json.loads(text)
        record["evaluations"] = tuple((int(s), float(r)) for s, r in record.get("evaluations", []))
        if record.get("trained_episodes") is not None:
            record["trained_episodes"] = tuple(int(e) for e in record["trained_episodes"])
        return cls(**record)

    def with_trained_episodes(self, episode_ids: Iterable[int]) -> RunState:
        """This state with ``episode_ids`` added to the recorded training episodes."""
        known = set(self.trained_episodes or ())
        return dataclasses.replace(
            self, trained_episodes=tuple(sorted(known | {int(e) for e in episode_ids}))
        )


def save_checkpoint(
    out: Path, model: Any, state: RunState, buffer: ReplayBufferBase | None = None
) -> None:
    """Save the model, the replay buffer (online) and then the state: a crash between them
    redoes one chunk, never skips one."""
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out / CHECKPOINT))
    if buffer is not None:
        save_replay_buffer(buffer, out / BUFFER)
    (out / STATE).write_text(state.to_json())


def load_checkpoint(out: Path, device: str) -> tuple[RunState | None, Any]:
    """The state and model saved in ``out`` (``(None, None)`` for a fresh folder)."""
    if not (out / STATE).exists():
        return None, None
    state = RunState.from_json((out / STATE).read_text())
    model = None
    if (out / CHECKPOINT).exists():
        model = d3rlpy.load_learnable(str(out / CHECKPOINT), device=device)
    return state, model


def replay_buffer(out: Path, env: Any, capacity: int = REPLAY_CAPACITY) -> ReplayBufferBase:
    """The run's online replay buffer: the checkpointed one, or a fresh FIFO buffer, keeping the
    last ``capacity`` policy transitions (the demonstrations are held apart)."""
    return load_or_create_replay_buffer(out / BUFFER, env, capacity)


def online_envs(
    env_id: str, metadata: DatasetMetadata
) -> tuple[gym.Env[Any, Any], gym.Env[Any, Any]]:
    """The training and evaluation environments of an online run in ``env_id``.

    Where the demonstrations were recorded in ``env_id``, both are rebuilt from the dataset's
    specs (the evaluation one from its eval spec, as offline evaluation does), so the
    ``gym.make`` keywords it was recorded with come along (``ant/expert-v0``: Ant-v5 without
    contact forces, 27 observations, where a plain Ant-v5 has 105). Any other environment must
    observe and act in spaces of the dataset's shapes, or the run is refused.
    """
    if env_id not in gym.registry:
        raise ValueError(f"unknown environment {env_id!r}")
    spec = metadata.env_spec
    if spec is not None and spec.id == env_id:
        envs = (metadata.make_env(), metadata.make_env(eval_env=True))
    else:
        envs = (gym.make(env_id), gym.make(env_id))
    for env, part in itertools.product(envs, ("observation", "action")):
        ours, theirs = getattr(env, f"{part}_space"), getattr(metadata, f"{part}_space")
        if not _same_layout(ours, theirs):
            kwargs = spec.kwargs if spec is not None else {}
            how = f" (recorded with gym.make keywords {kwargs})" if kwargs else ""
            raise ValueError(
                f"{env_id}'s {part} space {ours} does not match {metadata.dataset_id}'s "
                f"{theirs}{how}: the demonstrations cannot be replayed in it"
            )
    return envs


def _same_layout(a: gym.Space[Any], b: gym.Space[Any]) -> bool:
    """Same kind of space and shape (and number of choices when discrete)."""
    if type(a) is not type(b) or a.shape != b.shape:
        return False
    return not isinstance(a, gym.spaces.Discrete) or int(a.n) == int(b.n)  # type: ignore[attr-defined]
