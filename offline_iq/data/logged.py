"""Logged (non-expert) data beside a few demonstrations: checks and the union of the two.

A user's logs are mostly ordinary behaviour; the learners that use them (``iq-logged``,
``demodice``, ``bc-logged``) take the expert subset and the logged dataset separately
(:func:`check_logged`) and, where a learner needs one buffer or one set of statistics, their
union (:func:`join_logged`): the expert subset's metadata (environment, reference scores), the
episodes of both, and observation statistics of every state of both (the expert's before
sub-sampling, as :func:`~offline_iq.data.load_minari` keeps them).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from offline_iq.data.buffer import ExpertReplayBuffer, TransitionArrays

__all__ = ["check_logged", "join_logged"]


def _env_id(data: ExpertReplayBuffer) -> str | None:
    spec = data.metadata.env_spec
    return None if spec is None else spec.id


def check_logged(expert: ExpertReplayBuffer, logged: ExpertReplayBuffer) -> None:
    """Raise ``ValueError`` naming the difference if ``logged`` cannot join ``expert``: another
    environment, other observation or action spaces, or the very same dataset."""
    e, g = expert.metadata, logged.metadata
    if e.dataset_id == g.dataset_id:
        raise ValueError(
            f"the logged dataset is the expert dataset itself ({g.dataset_id}); pass logs of "
            "other behaviour (e.g. cartpole/mixed-v0)"
        )
    if _env_id(expert) != _env_id(logged):
        raise ValueError(
            f"logged dataset {g.dataset_id} is from {_env_id(logged)} but the demonstrations "
            f"({e.dataset_id}) are from {_env_id(expert)}"
        )
    for name in ("observation_space", "action_space"):
        if getattr(e, name) != getattr(g, name):
            raise ValueError(
                f"logged dataset {g.dataset_id} has {name} {getattr(g, name)} but the "
                f"demonstrations ({e.dataset_id}) have {getattr(e, name)}"
            )


def join_logged(expert: ExpertReplayBuffer, logged: ExpertReplayBuffer) -> ExpertReplayBuffer:
    """One buffer of the expert subset's episodes then the logged episodes (checked with
    :func:`check_logged`), with the expert's metadata and both datasets' state statistics.

    The statistics are those of the union of every state of both (the expert's full episodes,
    before sub-sampling), combined from each dataset's mean and deviation weighted by its
    number of rows.
    """
    check_logged(expert, logged)
    n_e = float(expert.metadata.subset.subsample) * len(expert.transitions)
    n_g = float(logged.metadata.subset.subsample) * len(logged.transitions)
    (mean_e, std_e), (mean_g, std_g) = expert.observation_statistics, logged.observation_statistics
    weight = n_e / (n_e + n_g)
    mean = weight * mean_e + (1.0 - weight) * mean_g
    second = weight * (std_e**2 + mean_e**2) + (1.0 - weight) * (std_g**2 + mean_g**2)
    std = np.sqrt(np.maximum(second - mean**2, 0.0))
    # a feature constant in both at one value is constant in the union: the pooled formula
    # leaves a rounding residue there (1e-3 at 3.7 in float32) that would pass for a deviation
    std[(std_e == 0) & (std_g == 0) & (mean_e == mean_g)] = 0.0
    episodes = [*expert.episodes, *logged.episodes]
    arrays = TransitionArrays(
        **{
            field.name: np.concatenate(
                [getattr(expert.transitions, field.name), getattr(logged.transitions, field.name)]
            )
            for field in dataclasses.fields(TransitionArrays)
        }
    )
    return ExpertReplayBuffer(
        episodes,
        expert.metadata,
        observation_statistics=(mean.astype(np.float32), std.astype(np.float32)),
        transitions=arrays,
    )
