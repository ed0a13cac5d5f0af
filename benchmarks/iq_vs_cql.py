"""Gradient steps per second: offline DiscreteIQLearn against d3rlpy's DiscreteCQL (issue 3).

Same data (5 CartPole expert trajectories), same network (d3rlpy's default 256x256 encoder, one
critic), same batch size (256), one torch thread. DiscreteCQL is timed twice: on a plain d3rlpy
``ReplayBuffer`` of the same episodes (what a d3rlpy user runs: d3rlpy's per-transition sampler)
and on offline_iq's ``ExpertReplayBuffer`` (the same vectorised sampler as IQ-Learn, so only the
update differs). Each learner gets a warm-up, then all are timed in alternating rounds so that
load on the machine hits them alike; the figure is the median over rounds.
Run: ``.venv/bin/python benchmarks/iq_vs_cql.py [rounds] [steps]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

import d3rlpy

import offline_iq
from offline_iq.data import load_minari
from offline_iq.data.episodes import TransitionEpisodePicker
from offline_iq.runtime import quiet_d3rlpy

BATCH = 256


def build(name: str, data: Any, scaler: Any) -> Any:
    """``name`` with the shared network, batch size and standardisation, built on ``data``."""
    common: dict[str, Any] = {
        "batch_size": BATCH,
        "encoder_factory": d3rlpy.models.VectorEncoderFactory(),
        "observation_scaler": scaler,
    }
    if name == "DiscreteIQLearn":
        config: Any = offline_iq.DiscreteIQLearnConfig(**common)
    else:
        config = d3rlpy.algos.DiscreteCQLConfig(n_critics=1, **common)
    algo = config.create(device="cpu:0")
    fit(algo, data, 20)  # builds the networks, warms up
    return algo


def fit(algo: Any, data: Any, steps: int) -> float:
    """Seconds for ``steps`` gradient steps of ``algo.fit`` (logging off)."""
    start = time.perf_counter()
    algo.fit(data, n_steps=steps, n_steps_per_epoch=steps, show_progress=False,
             logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    quiet_d3rlpy()
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    data = load_minari("cartpole/expert-v0", n_trajectories=5)
    scaler = data.standard_observation_scaler()
    plain = d3rlpy.dataset.ReplayBuffer(  # d3rlpy's sampling loop (our picker reads s')
        d3rlpy.dataset.InfiniteBuffer(),
        episodes=list(data.episodes),
        transition_picker=TransitionEpisodePicker(),
    )
    runs = {
        "DiscreteIQLearn": (build("DiscreteIQLearn", data, scaler), data),
        "DiscreteCQL": (build("DiscreteCQL", plain, scaler), plain),
        "DiscreteCQL, our sampler": (build("DiscreteCQL", data, scaler), data),
    }
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (algo, buffer) in runs.items():
            rates[name].append(steps / fit(algo, buffer, steps))
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"cartpole/expert-v0, 5 trajectories, batch {BATCH}, 256x256 network, 1 thread, "
          f"median of {rounds} rounds of {steps} steps")  # fmt: skip
    for name, rate in median.items():
        ratio = median["DiscreteIQLearn"] / rate
        print(f"  {name:26s} {rate:8.1f} gradient steps/s   IQ-Learn / this: {ratio:.2f}x")


if __name__ == "__main__":
    main()
