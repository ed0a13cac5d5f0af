"""Gradient steps per second of the IQ-Learn learners against d3rlpy and against raw torch.

Discrete: offline DiscreteIQLearn against d3rlpy's DiscreteCQL (one critic) on 5 CartPole
expert trajectories. Continuous: offline IQLearn (defaults: two critics with targets) against
d3rlpy's SAC (two critics) on 5 Pendulum expert trajectories. Every network is d3rlpy's default
256x256 MLP, every batch 256 rows, every run on one torch thread with the same observation
standardisation. d3rlpy's learners run twice: on a plain d3rlpy ``ReplayBuffer`` of the same
episodes (what a d3rlpy user runs: its per-transition sampler) and on offline_iq's
``ExpertReplayBuffer`` (the same sampler as ours, so only the update differs). The floor is a
hand-written plain-torch loop doing the same computation as our default step
(``benchmarks/torch_floors.py``).

Each run gets a warm-up; then all runs of a section are timed in alternating rounds, so that load
on the machine hits them alike, and the figures are medians over rounds. Both wall-clock and
thread CPU time are reported (on a shared machine CPU time is the steadier of the two).
Run: ``.venv/bin/python benchmarks/learner_speed.py [rounds] [steps]``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import d3rlpy
import torch
from torch_floors import ContinuousIQFloor, DiscreteIQFloor

import offline_iq
from offline_iq.data import ExpertReplayBuffer, load_minari
from offline_iq.data.episodes import TransitionEpisodePicker
from offline_iq.runtime import quiet_d3rlpy

BATCH = 256
Run = Callable[[int], None]


def plain_buffer(data: ExpertReplayBuffer) -> d3rlpy.dataset.ReplayBuffer:
    """The same episodes in d3rlpy's own buffer (its per-transition sampler)."""
    return d3rlpy.dataset.ReplayBuffer(
        d3rlpy.dataset.InfiniteBuffer(),
        episodes=list(data.episodes),
        transition_picker=TransitionEpisodePicker(),  # reads s' as offline_iq stores it
    )


def fit_run(config: Any, data: Any) -> Run:
    """``steps`` gradient steps of ``config``'s learner fitted on ``data`` (logging off)."""
    algo = config.create(device="cpu:0")

    def run(steps: int) -> None:
        algo.fit(data, n_steps=steps, n_steps_per_epoch=steps, show_progress=False,
                 logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip

    return run


def floor_run(floor: DiscreteIQFloor | ContinuousIQFloor) -> Run:
    def run(steps: int) -> None:
        for _ in range(steps):
            floor.step()

    return run


def floor_tensors(data: ExpertReplayBuffer, scale_actions: bool) -> list[torch.Tensor]:
    """Standardised ``s``, ``a`` (scaled to [-1, 1] from the action space if asked), ``s'``
    and terminals of every transition, as tensors."""
    arrays, scaler = data.transitions, data.standard_observation_scaler()
    actions = torch.as_tensor(arrays.actions)
    if scale_actions:
        space = data.metadata.action_space
        low, high = torch.as_tensor(space.low), torch.as_tensor(space.high)
        actions = (actions - low) / (high - low) * 2.0 - 1.0
    observations = [scaler.transform(torch.as_tensor(x)) for x in
                    (arrays.observations, arrays.next_observations)]  # fmt: skip
    return [observations[0], actions, observations[1], torch.as_tensor(arrays.terminals)]


def discrete_runs() -> dict[str, Run]:
    data = load_minari("cartpole/expert-v0", n_trajectories=5)
    common: dict[str, Any] = {
        "batch_size": BATCH,
        "encoder_factory": d3rlpy.models.VectorEncoderFactory(),
        "observation_scaler": data.standard_observation_scaler(),
    }
    cql = d3rlpy.algos.DiscreteCQLConfig(n_critics=1, **common)
    floor = DiscreteIQFloor(
        floor_tensors(data, scale_actions=False), data.dataset_info.action_size, BATCH
    )
    return {
        "DiscreteIQLearn": fit_run(offline_iq.DiscreteIQLearnConfig(**common), data),
        "DiscreteCQL": fit_run(cql, plain_buffer(data)),
        "DiscreteCQL, our sampler": fit_run(cql, data),
        "raw-torch floor": floor_run(floor),
    }


def continuous_runs() -> dict[str, Run]:
    data = load_minari("pendulum/expert-v0", n_trajectories=5)
    iq = offline_iq.IQLearnConfig(
        batch_size=BATCH, observation_scaler=data.standard_observation_scaler()
    )
    space = data.metadata.action_space
    sac = d3rlpy.algos.SACConfig(
        batch_size=BATCH,
        n_critics=2,
        observation_scaler=data.standard_observation_scaler(),
        action_scaler=d3rlpy.preprocessing.MinMaxActionScaler(
            minimum=space.low, maximum=space.high
        ),
    )
    return {
        "IQLearn": fit_run(iq, data),
        "SAC": fit_run(sac, plain_buffer(data)),
        "SAC, our sampler": fit_run(sac, data),
        "raw-torch floor": floor_run(
            ContinuousIQFloor(floor_tensors(data, scale_actions=True), BATCH)
        ),
    }


def time_rounds(runs: dict[str, Run], rounds: int, steps: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) gradient steps/s of each run over alternating rounds."""
    for run in runs.values():
        run(20)  # builds the networks, warms up
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            run(steps)
            wall[name].append(steps / (time.perf_counter() - start))
            cpu[name].append(steps / (time.thread_time() - start_cpu))
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in runs}


def report(title: str, rates: dict[str, tuple[float, float]], ours: str, theirs: str) -> None:
    """Each run's steps/s and our learner's ratios to d3rlpy's and to the floor."""
    print(title)
    print(f"  {'':26s} {'steps/s wall':>12s} {'cpu':>8s}   {ours} / this: wall (cpu)")
    mine = rates[ours]
    for name, (wall, cpu) in rates.items():
        ratio = f"{mine[0] / wall:5.2f}x ({mine[1] / cpu:.2f}x)"
        print(f"  {name:26s} {wall:12.1f} {cpu:8.1f}   {ratio}")
    floor = rates["raw-torch floor"]
    print(
        f"  {ours} / {theirs}: {mine[0] / rates[theirs][0]:.2f}x wall, "
        f"{mine[1] / rates[theirs][1]:.2f}x cpu;  floor / {ours}: "
        f"{floor[0] / mine[0]:.2f}x wall, {floor[1] / mine[1]:.2f}x cpu"
    )


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    quiet_d3rlpy()
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    print(
        f"batch {BATCH}, 256x256 networks, {torch.get_num_threads()} torch thread(s), median of "
        f"{rounds} alternating rounds of {steps} steps; {os.cpu_count()} cores, load average "
        f"{load_average()}"
    )
    discrete = time_rounds(discrete_runs(), rounds, steps)
    report("cartpole/expert-v0, 5 trajectories", discrete, "DiscreteIQLearn", "DiscreteCQL")
    continuous = time_rounds(continuous_runs(), rounds, steps)
    report("pendulum/expert-v0, 5 trajectories, 2 critics", continuous, "IQLearn", "SAC")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
