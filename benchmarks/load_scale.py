"""``load_minari`` at Minari scale: time and peak memory against a plain h5py read.

Writes a synthetic dataset with Hopper-v5 shapes (observations 11 float64, actions 3 float32,
float64 rewards; every third episode terminates, the others are truncated) of ``--episodes`` x
``--steps`` transitions (default 1,000 x 1,000 = 1M) with ``minari.create_dataset_from_buffers``
into a Minari store (``--store``, kept and reused between runs, or a temporary folder), then
prints:

* time: the median over ``--repeats`` runs of ``load_minari(id)`` against the median of a plain
  h5py read of every episode's arrays (observations, actions, rewards, terminations,
  truncations) in the same process, and their ratio;
* memory: the peak memory allocated during ``load_minari`` (measured with ``tracemalloc``, which
  sees numpy's and h5py's array buffers) against the byte size of the arrays the plain h5py read
  returns, and their ratio, plus what the returned buffer keeps;
* a seeded subset (``--subset`` episodes) to show that only the selected episodes are read.

Run: ``.venv/bin/python benchmarks/load_scale.py --store /tmp/scale_store`` (about 35 s for the
1M dataset on 2 cores, plus 5 s to write it the first time); ``--episodes 50 --steps 200`` runs
it small.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

OBS_DIM, ACTION_DIM = 11, 3
MIB = 1024.0**2


def dataset_id(episodes: int, steps: int) -> str:
    return f"scale/hopper{episodes}x{steps}-v0"


def write_dataset(episodes: int, steps: int) -> None:
    """Write the synthetic dataset into the current ``MINARI_DATASETS_PATH``."""
    import gymnasium as gym
    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    rng = np.random.default_rng(0)
    buffers = []
    for k in range(episodes):
        terminated = k % 3 == 0
        buffers.append(
            EpisodeBuffer(
                id=k,
                observations=rng.normal(size=(steps + 1, OBS_DIM)),
                actions=rng.uniform(-1, 1, size=(steps, ACTION_DIM)).astype(np.float32),
                rewards=rng.normal(size=steps),
                terminations=np.arange(steps) == (steps - 1 if terminated else steps),
                truncations=np.arange(steps) == (steps if terminated else steps - 1),
                infos={},
            )
        )
    minari.create_dataset_from_buffers(
        dataset_id(episodes, steps),
        buffers,
        env="Hopper-v5",
        eval_env="Hopper-v5",
        observation_space=gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float64),
        action_space=gym.spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32),
        description="synthetic Hopper-shaped data for benchmarks/load_scale.py",
        algorithm_name="none",
        author="offline_iq",
        author_email="none",
        code_permalink="benchmarks/load_scale.py",
    )


def h5py_read_all(path: Path) -> list[np.ndarray]:
    """Every episode's arrays, read with plain h5py (the I/O floor)."""
    import h5py

    arrays: list[np.ndarray] = []
    with h5py.File(path, "r") as file:
        for name in file:
            group = file[name]
            for key in ("observations", "actions", "rewards", "terminations", "truncations"):
                arrays.append(group[key][()])
    return arrays


def median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        del result
    return statistics.median(times)


def peak_bytes(fn: Callable[[], Any]) -> tuple[int, int]:
    """(peak bytes allocated while ``fn`` runs, bytes still held by its result), by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        result = fn()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak - base, held - base


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1000, help="transitions per episode")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (median)")
    parser.add_argument("--subset", type=int, default=10, help="episodes of the subset run")
    parser.add_argument(
        "--store", type=Path, default=None, help="Minari store to keep the dataset in (reused)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store if args.store is not None else Path(tmp)
        store.mkdir(parents=True, exist_ok=True)
        os.environ["MINARI_DATASETS_PATH"] = str(store.resolve())
        run(args, store)


def run(args: argparse.Namespace, store: Path) -> None:
    from offline_iq.data import load_minari  # after MINARI_DATASETS_PATH is set

    name = dataset_id(args.episodes, args.steps)
    data_path = store / name / "data"
    if not (data_path / "metadata.json").is_file():
        start = time.perf_counter()
        write_dataset(args.episodes, args.steps)
        print(f"wrote {name} in {time.perf_counter() - start:.1f} s ({data_path})")
    main_file = data_path / "main_data.hdf5"

    raw = h5py_read_all(main_file)  # warms the page cache too
    raw_bytes = sum(a.nbytes for a in raw)
    n_transitions = sum(a.shape[0] for a in raw[2::5])
    del raw
    buffer = load_minari(name)  # warm-up: imports, page cache
    assert len(buffer.transitions) == n_transitions
    del buffer

    t_h5py = median_seconds(lambda: h5py_read_all(main_file), args.repeats)
    t_load = median_seconds(lambda: load_minari(name), args.repeats)
    subset = min(args.subset, args.episodes)
    t_subset = median_seconds(lambda: load_minari(name, n_trajectories=subset), args.repeats)
    peak_h5py, _ = peak_bytes(lambda: h5py_read_all(main_file))
    peak_load, held_load = peak_bytes(lambda: load_minari(name))

    print(
        f"dataset: {args.episodes} episodes x {args.steps} steps = {n_transitions:,} transitions "
        f"(obs {OBS_DIM} float64, action {ACTION_DIM} float32)"
    )
    print(f"time, median of {args.repeats}:")
    print(f"  plain h5py read of every episode   {t_h5py:8.2f} s")
    print(f"  load_minari (all episodes)         {t_load:8.2f} s")
    print(f"  ratio load_minari / h5py           {t_load / t_h5py:8.2f}x   (acceptance <= 1.5x)")
    print(
        f"  load_minari, {subset} of {args.episodes} episodes  {t_subset:8.3f} s "
        f"({t_subset / t_load:.1%} of the full load)"
    )
    print("peak memory added (tracemalloc):")
    print(f"  raw arrays (h5py read, nbytes)     {raw_bytes / MIB:8.1f} MiB")
    print(f"  plain h5py read, peak              {peak_h5py / MIB:8.1f} MiB")
    print(f"  load_minari, peak                  {peak_load / MIB:8.1f} MiB")
    print(f"  load_minari, kept by the buffer    {held_load / MIB:8.1f} MiB")
    print(
        f"  ratio load_minari peak / raw       {peak_load / raw_bytes:8.2f}x   (acceptance <= 3x)"
    )


if __name__ == "__main__":
    main()
