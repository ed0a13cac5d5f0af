"""The datasets shipped in ``datasets/``, and the command that rebuilds them.

Rebuild with ``.venv/bin/python -m offline_iq.experts.shipped`` (about a minute or two on 2
cores). Expert datasets use reset seeds 0..49, random datasets 100_000..100_049; reference scores
come from 50 further episodes of each policy (see :mod:`offline_iq.experts.collect`).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path
from typing import Any

from offline_iq.data.sources import shipped_datasets_dir
from offline_iq.experts.collect import PolicyKind, collect_dataset

__all__ = ["SHIPPED", "ShippedDataset", "build_shipped"]

RANDOM_SEED = 100_000


@dataclasses.dataclass(frozen=True)
class ShippedDataset:
    """One environment's pair of shipped datasets: ``<name>/expert-v0`` and ``<name>/random-v0``."""

    name: str
    env_id: str
    env_kwargs: tuple[tuple[str, Any], ...] = ()
    episodes: int = 50
    expert_model: str | None = None  # a trained expert, relative to the repository root

    def dataset_id(self, policy: PolicyKind) -> str:
        """Return the Minari id ``<name>/<policy>-v0`` of the ``expert`` or ``random`` dataset."""
        return f"{self.name}/{policy}-v0"


SHIPPED: tuple[ShippedDataset, ...] = (
    ShippedDataset("cartpole", "CartPole-v1"),
    ShippedDataset("acrobot", "Acrobot-v1"),
    ShippedDataset("mountaincar", "MountainCar-v0"),
    ShippedDataset("pendulum", "Pendulum-v1"),
    ShippedDataset("mountaincarcontinuous", "MountainCarContinuous-v0"),
    ShippedDataset("lunarlander", "LunarLander-v3"),
    ShippedDataset("lunarlandercontinuous", "LunarLander-v3", (("continuous", True),)),
    # the paper's Figure 4 uses 30 demonstrations of a soft-optimal GridWorld expert
    ShippedDataset("gridworld", "offline_iq/GridWorld-v0", episodes=30),
    ShippedDataset("gridworld10x10", "offline_iq/GridWorld10x10-v0", episodes=30),
    # MuJoCo: SAC experts trained here with ``offline-iq train-expert`` (issue 6), 25 episodes
    ShippedDataset("hopper", "Hopper-v5", episodes=25, expert_model="experts/Hopper-v5/best.d3"),
    ShippedDataset(
        "halfcheetah", "HalfCheetah-v5", episodes=25, expert_model="experts/HalfCheetah-v5/best.d3"
    ),
)


def build_shipped(
    root: Path | None = None, *, episodes: int | None = None, only: list[str] | None = None
) -> None:
    """(Re)write every shipped dataset, or those whose name is in ``only``."""
    root = shipped_datasets_dir() if root is None else root
    repo_root = shipped_datasets_dir().parent
    for spec in SHIPPED:
        if only and spec.name not in only:
            continue
        for policy, seed in (("expert", 0), ("random", RANDOM_SEED)):
            dataset_id = spec.dataset_id(policy)  # type: ignore[arg-type]
            target = root / dataset_id
            if target.exists():
                shutil.rmtree(target)
            collect_dataset(
                spec.env_id,
                dataset_id=dataset_id,
                n_episodes=episodes or spec.episodes,
                policy=policy,  # type: ignore[arg-type]
                seed=seed,
                root=root,
                env_kwargs=dict(spec.env_kwargs),
                expert_model=(None if spec.expert_model is None else repo_root / spec.expert_model),
            )


def main() -> None:
    """Parse ``--root``, ``--episodes`` and ``--only`` and run :func:`build_shipped`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--episodes", type=int, default=None)
    parser.add_argument("--only", nargs="*", default=None, help="names, e.g. cartpole acrobot")
    args = parser.parse_args()
    build_shipped(args.root, episodes=args.episodes, only=args.only)


if __name__ == "__main__":
    main()
