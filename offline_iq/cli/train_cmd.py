"""``offline-iq fit`` (resumable training of one model) and ``offline-iq evaluate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import d3rlpy
import numpy as np
import typer

from offline_iq.cli.app import EnvKwargOption, app, console, env_kwargs_from, parse_options
from offline_iq.data import DatasetNotFoundError, load_minari
from offline_iq.data.logged import check_logged
from offline_iq.data.replay_checkpoint import REPLAY_CAPACITY
from offline_iq.evaluation import evaluate_policy
from offline_iq.learners import (
    ALGORITHMS,
    LOGGED_ALGORITHMS,
    LOGS_REQUIRED,
    ONLINE_ALGORITHMS,
    make_config,
    make_logged_config,
    make_online_config,
)
from offline_iq.training import (
    CHECKPOINT,
    ONLINE_WARMUP,
    STATE,
    RunState,
    load_checkpoint,
    logged_training_data,
    online_envs,
    replay_buffer,
    save_checkpoint,
    train_in_chunks,
)


@app.command()
def fit(
    dataset: Annotated[str, typer.Argument(help="Minari dataset id or path.")],
    algo: Annotated[str, typer.Option(help="iq, bc or valuedice.")] = "iq",
    demos: Annotated[int | None, typer.Option(min=1, help="Expert trajectories to use.")] = None,
    subsample: Annotated[int, typer.Option(min=1, help="Keep every k-th transition.")] = 1,
    steps: Annotated[int, typer.Option(min=1, help="Total gradient steps.")] = 10_000,
    steps_per_epoch: Annotated[
        int, typer.Option(min=1, help="Steps between checkpoints and evaluations.")
    ] = 1000,
    eval_episodes: Annotated[int, typer.Option(min=0, help="Episodes per evaluation.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the subset draw and of training.")] = 0,
    device: Annotated[str, typer.Option(help="torch device, e.g. cpu:0 or cuda:0.")] = "cpu:0",
    out: Annotated[Path | None, typer.Option(help="Output folder (default runs/<name>).")] = None,
    tensorboard: Annotated[bool, typer.Option(help="Also log to TensorBoard.")] = False,
    online: Annotated[
        str | None,
        typer.Option(help="Train online in this env (DATASET gives the demonstrations)."),
    ] = None,
    logged: Annotated[
        str | None,
        typer.Option(
            help="Logged (non-expert) dataset trained on beside the demonstrations: IQ-Learn "
            "with its logged settings and the logs as policy rows, BC on both, DemoDICE."
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="Config field override KEY=VALUE (repeatable), e.g. -o absorbing=true; "
            "-o observation_scaler=standard|clipped|none picks the observation scaler.",
        ),
    ] = None,
    replay_capacity: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Online: policy transitions the replay FIFO keeps (default {REPLAY_CAPACITY:,}; "
            "the demonstrations are held apart). Recorded with the run.",
        ),
    ] = None,
) -> None:
    """Train one model with checkpoints; rerun with the same --out to resume.

    With ``--online ENV_ID`` (IQ-Learn or ValueDICE), DATASET supplies the demonstrations and
    ``--steps`` counts environment steps (the replay buffer is checkpointed too); batches are half
    replay, half expert, with the learner's online settings (``DiscreteIQLearnConfig.for_online()``,
    ``IQLearnConfig.for_online()``: chi2 on expert and policy rows and an absorbing state for
    terminations, left off where the demonstrations terminate themselves; for continuous actions
    also the paper's value over expert and policy rows, a target network, actor learning rate
    3e-5 and no Q-filtered behaviour cloning).
    """
    if algo not in ALGORITHMS:
        raise typer.BadParameter(f"unknown algorithm {algo!r}; choose from {', '.join(ALGORITHMS)}")
    if online and algo not in ONLINE_ALGORITHMS:
        raise typer.BadParameter("--online needs iq or valuedice (BC learns offline)")
    if online and logged:
        raise typer.BadParameter(
            "--online and --logged do not go together: online, the agent's "
            "own experience plays the part of the logs"
        )
    if replay_capacity is not None and not online:
        raise typer.BadParameter("--replay-capacity is for --online runs (offline has no replay)")
    if logged and algo not in (*LOGGED_ALGORITHMS, *LOGS_REQUIRED):
        uses = ", ".join((*LOGGED_ALGORITHMS, *LOGS_REQUIRED))
        raise typer.BadParameter(f"--logged needs a learner that uses logs ({uses}), not {algo}")
    if algo in LOGS_REQUIRED and not logged:
        raise typer.BadParameter(f"{algo} learns from demonstrations plus logs: give --logged")
    try:
        data = load_minari(dataset, n_trajectories=demos, subsample=subsample, seed=seed)
        logs = load_minari(logged) if logged else None
        if logs is not None:
            check_logged(data, logs)
    except (DatasetNotFoundError, ValueError) as err:
        raise typer.BadParameter(str(err)) from err
    name = f"{data.metadata.dataset_id.replace('/', '-')}__{algo}__n{demos or 'all'}__s{seed}"
    out = out or Path("runs") / name
    state, model = load_checkpoint(out, device)
    if state is not None and (
        state.dataset != dataset or state.algo != algo or state.logged != logged
    ):
        raise typer.BadParameter(f"{out} holds a run of another dataset, algorithm or logs")
    if state is not None and replay_capacity not in (None, state.replay_capacity):
        raise typer.BadParameter(
            f"{out} was run with --replay-capacity {state.replay_capacity}, not {replay_capacity}"
        )
    if state is None or model is None:
        overrides = parse_options(option or [])
        model = _new_model(algo, data, online, overrides, device, logs)
        state = RunState(
            dataset, algo, demos, subsample, seed, online, overrides, logged=logged,
            replay_capacity=replay_capacity or REPLAY_CAPACITY,
        )  # fmt: skip
    else:
        console.print(f"resuming {out} at step {state.steps_done}")
    state = state.with_trained_episodes(np.unique(data.transitions.episode_ids).tolist())
    if state.steps_done >= steps:
        console.print(f"{out} already trained for {state.steps_done} steps")
        return
    d3rlpy.seed(seed + state.steps_done)
    env = data.metadata.make_env(eval_env=True) if data.metadata.env_spec else None
    train_env, buffer = None, None
    train_data: Any = data if logs is None else logged_training_data(model, data, logs)
    if online:
        model.attach_demonstrations(data)
        try:
            train_env, env = online_envs(online, data.metadata)
        except ValueError as err:  # an unknown id, or spaces the demonstrations do not fit
            raise typer.BadParameter(str(err)) from err
        train_env.reset(seed=seed + state.steps_done)
        buffer = replay_buffer(out, train_env, state.replay_capacity)  # resume keeps the data
    adapters: list[d3rlpy.logging.LoggerAdapterFactory] = [
        d3rlpy.logging.FileAdapterFactory(root_dir=str(out / "logs"))
    ]
    if tensorboard:
        adapters.append(d3rlpy.logging.TensorboardAdapterFactory(root_dir=str(out / "tensorboard")))
    chunks = train_in_chunks(
        model,
        train_data,
        steps=steps,
        chunk=steps_per_epoch,
        done=state.steps_done,
        env=train_env,
        buffer=buffer,
        warmup=min(ONLINE_WARMUP, min(steps_per_epoch, steps) - 1),
        experiment_name=f"from_step_{state.steps_done}",
        with_timestamp=False,
        logger_adapter=d3rlpy.logging.CombineAdapterFactory(adapters),
        show_progress=True,
        save_interval=10**9,
    )
    for done in chunks:
        mean_return = None
        if env is not None and eval_episodes:
            returns = evaluate_policy(model, env, eval_episodes, seed=10_000)
            mean_return = float(returns.mean())
            console.print(f"step {done}: return {returns.mean():.1f} ± {returns.std():.1f}")
        state = state.after_chunk(done, mean_return)
        save_checkpoint(out, model, state, buffer)
    console.print(f"saved {out / CHECKPOINT}")


def _new_model(
    algo: str,
    data: Any,
    online: str | None,
    overrides: dict[str, Any],
    device: str,
    logs: Any = None,
) -> Any:
    try:
        if logs is not None:
            return make_logged_config(algo, data, logs, **overrides).create(device=device)
        make = make_online_config if online else make_config
        return make(algo, data, **overrides).create(device=device)
    except (TypeError, ValueError) as err:  # an unknown field name or value
        raise typer.BadParameter(f"bad --option for {algo}: {err}") from err


@app.command()
def evaluate(
    model_path: Annotated[Path, typer.Argument(help="A .d3 model or an `offline-iq fit` folder.")],
    env_id: Annotated[
        str | None, typer.Option("--env", help="Gymnasium id to evaluate in.")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Dataset whose env and reference scores to use.")
    ] = None,
    episodes: Annotated[int, typer.Option(min=1, help="Evaluation episodes.")] = 10,
    seed: Annotated[int, typer.Option(help="First reset seed.")] = 10_000,
    device: Annotated[str, typer.Option(help="torch device, e.g. cpu:0 or cuda:0.")] = "cpu:0",
    env_kwarg: EnvKwargOption = None,  # with --env, e.g. an expert trained with -e
) -> None:
    """Print mean and std of the true return (and the normalised score when known)."""
    env_kwargs = env_kwargs_from(env_kwarg)
    if env_kwargs and env_id is None:
        raise typer.BadParameter("-e/--env-kwarg needs --env (a dataset's env has its own)")
    if model_path.is_dir():
        state = (
            json.loads((model_path / STATE).read_text()) if (model_path / STATE).exists() else {}
        )
        dataset = dataset or state.get("dataset")
        model_path = model_path / CHECKPOINT
    if not model_path.exists():
        raise typer.BadParameter(f"no model at {model_path}")
    import offline_iq  # noqa: F401  (registers the algorithms before loading)

    model = d3rlpy.load_learnable(str(model_path), device=device)
    metadata = load_minari(dataset, n_trajectories=1).metadata if dataset else None
    if env_id is not None:
        import gymnasium as gym

        env = gym.make(env_id, **(env_kwargs or {}))
    elif metadata is not None:
        env = metadata.make_env(eval_env=True)
    else:
        raise typer.BadParameter("give --env or --dataset (or a fit folder that records one)")
    returns = evaluate_policy(model, env, episodes, seed=seed)
    line = f"return {np.mean(returns):.2f} ± {np.std(returns):.2f} over {episodes} episodes"
    if metadata is not None and metadata.ref_max_score is not None and env_id is None:
        line += f"; normalised score {metadata.normalize_score(float(np.mean(returns))):.3f}"
    console.print(line)
