"""One ``iq-logged`` run on tuning data with extra options (``results/logged-v1/EXPLORATION.md``).

The tuning protocol's cell (tuning pool, 1 trajectory + the task's ``mixed-v0``, 5,000 steps,
10 evaluation episodes at 1,000 and 5,000 steps) for one seed and one set of options, printed:

``python benchmarks/logged_bc_probe.py lunarlander '{"logged_bc_weight": 0.3}' 100``
"""

from __future__ import annotations

import argparse
import json
import time

from offline_iq.benchmark.cells import make_grid
from offline_iq.benchmark.runner import run_cell
from offline_iq.runtime import set_torch_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", help="namespace of expert-v0 and mixed-v0, e.g. lunarlander")
    parser.add_argument("options", help="learner options as JSON")
    parser.add_argument("seed", type=int, help="a tuning seed (100, 101): never a report's")
    parser.add_argument("--algo", default="iq-logged")
    args = parser.parse_args()
    set_torch_threads()
    dataset, options = f"{args.task}/expert-v0", json.loads(args.options)
    (cell,) = make_grid(
        [dataset], [args.algo], [1], [args.seed], steps=5000, eval_episodes=10, pool="tuning",
        eval_at=[1000, 5000], options={dataset: {args.algo: options}},
        logged={dataset: f"{args.task}/mixed-v0"},
    )  # fmt: skip
    start = time.time()
    result = run_cell(cell)
    print(
        f"{args.task} {args.algo} {options} seed {args.seed}: "
        f"normalised {result.final_normalized:.2f} "
        f"(curve {result.eval_normalized}; {time.time() - start:.0f} s)"
    )


if __name__ == "__main__":
    main()
