"""Rebuild and execute the tutorial notebooks (run from the repository root)."""
# ruff: noqa: E501  (the notebook cells are kept verbatim as strings)

import nbformat as nbf
from nbclient import NotebookClient


def build(path, cells):
    nb = nbf.v4.new_notebook()
    nb.cells = [
        nbf.v4.new_markdown_cell(c[1]) if c[0] == "md" else nbf.v4.new_code_cell(c[1])
        for c in cells
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "notebooks"}}
    ).execute()
    nbf.write(nb, path)


build(
    "notebooks/01_quickstart.ipynb",
    [
        (
            "md",
            "# Quickstart: IQ-Learn vs BC from one expert trajectory\n\nLoad a shipped Minari dataset, fit IQ-Learn and d3rlpy's BC on **one** expert trajectory, evaluate both in the dataset's environment and compare with the expert and random reference scores. `BUDGET` keeps it to about a minute on 2 CPU cores.",
        ),
        (
            "code",
            'import warnings\nwarnings.filterwarnings("ignore", message="IProgress not found")\n\nimport d3rlpy\nimport offline_iq\nfrom offline_iq import load_minari\nfrom offline_iq.benchmark.algorithms import make_config\nfrom offline_iq.evaluation import evaluate_policy\nfrom offline_iq.runtime import quiet_d3rlpy\n\nquiet_d3rlpy()\nBUDGET = 2000  # gradient steps per learner',
        ),
        (
            "md",
            "`load_minari` returns a d3rlpy replay buffer whose transitions are exactly aligned with Minari's T+1 layout; `metadata` keeps the environment and reference scores.",
        ),
        (
            "code",
            'data = load_minari("cartpole/expert-v0", n_trajectories=1, seed=0)\nmeta = data.metadata\nprint(data)\nprint("env:", meta.env_spec.id, "| expert:", meta.ref_max_score, "| random:", round(meta.ref_min_score, 1))',
        ),
        (
            "md",
            "`make_config` gives every learner the same observation standardisation, so only the method differs.",
        ),
        (
            "code",
            'results = {}\nfor name in ("iq", "bc"):\n    d3rlpy.seed(0)\n    algo = make_config(name, data).create(device="cpu:0")\n    algo.fit(data, n_steps=BUDGET, n_steps_per_epoch=BUDGET, show_progress=False,\n             logger_adapter=d3rlpy.logging.NoopAdapterFactory())\n    returns = evaluate_policy(algo, meta.make_env(), n_episodes=10, seed=10_000)\n    results[name] = returns\n    print(f"{name}: return {returns.mean():.1f} ± {returns.std():.1f}, normalised {meta.normalize_score(returns.mean()):.2f}")',
        ),
        (
            "md",
            "The same comparison over datasets, trajectories and seeds is one command: `offline-iq benchmark` (see `03_benchmark.ipynb`).",
        ),
    ],
)
build(
    "notebooks/03_benchmark.ipynb",
    [
        ("md", "# The benchmark: committed results, figures, and extending the grid"),
        (
            "code",
            'from pathlib import Path\nimport pandas as pd\nfrom offline_iq.benchmark.report import summarize, to_markdown, plot_results\n\nROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()\nframe = pd.read_csv(ROOT / "results" / "offline-v0" / "results.csv")\nprint(len(frame), "cells;", frame.seed.nunique(), "seeds")\nsummary = summarize(frame)\nprint(to_markdown(summary))',
        ),
        (
            "code",
            'from IPython.display import Image\nImage(filename=str(plot_results(summary, Path("/tmp") / "offline_iq_returns.png")))',
        ),
        (
            "md",
            "## Adding a dataset or an algorithm\n\nA dataset is any Minari id or folder. An algorithm is a name in `ALGORITHMS` mapping to a (discrete, continuous) pair of d3rlpy config factories. Here we add d3rlpy's DQN (an RL algorithm: it learns from the logged rewards, a useful sanity line), kept tiny: two cells, 20 steps.",
        ),
        (
            "code",
            'import d3rlpy\nfrom offline_iq.benchmark.algorithms import ALGORITHMS\nfrom offline_iq.benchmark.cells import make_grid\nfrom offline_iq.benchmark.executors import run_cells\n\nALGORITHMS["dqn"] = (d3rlpy.algos.DQNConfig, d3rlpy.algos.SACConfig)  # any d3rlpy learner\ncells = make_grid(["acrobot/expert-v0"], ["dqn", "iq"], [1], [0], steps=20, eval_episodes=1)\nfor result in run_cells(cells, workers=1):\n    print(result.algo, result.final_return)\ndel ALGORITHMS["dqn"]',
        ),
    ],
)
