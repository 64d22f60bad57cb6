"""`modelport batch run|list|show|logs`: batch inference over files or delimited data."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import click

from modelport.cli._output import (
    emit_json,
    emit_mapping,
    emit_table,
    output_option,
    workspace_option,
)
from modelport.errors import InvalidArgument

_TABULAR_SUFFIXES = (".csv", ".tsv")


@click.group()
def batch() -> None:
    """Run an entry script over many files or rows (v1's ParallelRunStep, locally)."""


@batch.command("run", context_settings={"ignore_unknown_options": True})
@workspace_option
@click.option("--entry-script", help="Batch script: init() and run(mini_batch).")
@click.option("--online-script", help="An online score.py: each file or row goes through run().")
@click.option("--source-dir", help="Folder holding the script and its helpers (default: its own).")
@click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    required=True,
    help="Folder, glob or CSV file; repeatable.",
)
@click.option(
    "--input-type",
    type=click.Choice(["auto", "files", "tabular"]),
    default="auto",
    show_default=True,
    help="auto: .csv/.tsv files are tabular, anything else is files.",
)
@click.option(
    "--separator", default=None, help="Tabular field separator (default: ',' or tab for .tsv)."
)
@click.option("--no-header", is_flag=True, help="Tabular files have no header row.")
@click.option("--output", "output_dir", help="Copy the result file into this folder when done.")
@click.option(
    "--mini-batch-size",
    default=None,
    help="Files per mini-batch (10) or a size for tabular ('1MB').",
)
@click.option(
    "--error-threshold",
    type=int,
    default=10,
    show_default=True,
    help="Failed files/rows allowed; -1 ignores all.",
)
@click.option("--workers", type=int, default=None, help="Worker processes (default: CPU count).")
@click.option(
    "--timeout", type=float, default=60, show_default=True, help="Seconds one run() may take."
)
@click.option("--max-tries", type=int, default=3, show_default=True, help="Tries per mini-batch.")
@click.option(
    "--output-action",
    type=click.Choice(["append_row", "summary_only"]),
    default="append_row",
    show_default=True,
)
@click.option("--append-row-file-name", default="parallel_run_step.txt", show_default=True)
@click.option(
    "--env", "env_name", help="Registered environment NAME[:VERSION] (default: this Python)."
)
@click.option(
    "--experiment", default="batch", show_default=True, help="Experiment to record the run in."
)
@click.option("--name", "step_name", default="batch", show_default=True, help="Step name.")
@click.option("--no-reuse", is_flag=True, help="Recompute everything instead of resuming/reusing.")
@click.option("--detach", is_flag=True, help="Start the run and return; watch with `batch show`.")
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED)
def run(workspace_path: str | None, **opts: Any) -> None:
    """Run a batch job; arguments after `--` go to the script's sys.argv.

    Re-running the same command resumes an interrupted run and reuses finished work.
    """
    from modelport.batch import launch
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    spec = _spec(ws, opts)
    pipeline, steps = launch.start(ws, opts["experiment"], [spec], name=spec.name)
    click.echo(f"Started batch run {steps[0].id} (pipeline {pipeline.id})", err=True)
    if opts["detach"]:
        click.echo(steps[0].id)
        return
    try:
        status = launch.wait(pipeline, True, None, sys.stderr)
    except KeyboardInterrupt:
        _stop(pipeline)
        click.echo("interrupted; run the same command again to resume", err=True)
        sys.exit(130)
    _finish(steps[0], status, opts["output_dir"])


def _spec(ws: Any, opts: dict[str, Any]) -> Any:
    from modelport.batch.spec import check_entry_script
    from modelport.core.dataset import Dataset
    from modelport.pipeline.steps import ParallelRunConfig, ParallelRunStep

    script = opts["entry_script"] or opts["online_script"]
    if bool(opts["entry_script"]) == bool(opts["online_script"]):
        raise InvalidArgument("Give exactly one of --entry-script or --online-script.")
    path = Path(script).resolve()
    source = Path(opts["source_dir"]).resolve() if opts["source_dir"] else path.parent
    if opts["online_script"]:
        check_entry_script(path, online=True)
    kind = _kind(opts["inputs"], opts["input_type"])
    if kind == "files":
        dataset: Any = Dataset.File.from_files(list(opts["inputs"]))
    else:
        tsv = all(str(i).endswith(".tsv") for i in opts["inputs"])
        dataset = Dataset.Tabular.from_delimited_files(
            list(opts["inputs"]),
            separator=opts["separator"] or ("\t" if tsv else ","),
            header=False if opts["no_header"] else None,
        )
    config = ParallelRunConfig(
        environment=_environment(ws, opts["env_name"]),
        entry_script=os.path.relpath(path, source),
        source_directory=str(source),
        error_threshold=opts["error_threshold"],
        output_action=opts["output_action"],
        process_count_per_node=opts["workers"],
        mini_batch_size=opts["mini_batch_size"],
        run_invocation_timeout=opts["timeout"],
        run_max_try=opts["max_tries"],
        append_row_file_name=opts["append_row_file_name"],
        node_count=1,
    )
    step = ParallelRunStep(
        name=opts["step_name"],
        parallel_run_config=config,
        inputs=[dataset],
        arguments=list(opts["script_args"]),
        allow_reuse=not opts["no_reuse"],
    )
    spec = step._spec()
    spec.online = bool(opts["online_script"])
    return spec


def _kind(inputs: tuple[str, ...], wanted: str) -> str:
    if wanted != "auto":
        return wanted
    tabular = all(
        str(i).lower().endswith(_TABULAR_SUFFIXES) and not os.path.isdir(i) for i in inputs
    )
    return "tabular" if tabular else "files"


def _environment(ws: Any, name: str | None) -> Any:
    if not name:
        return None
    from modelport.core.environment import Environment

    env_name, _, version = name.partition(":")
    return Environment.get(ws, env_name, version or None)


def _stop(pipeline: Any) -> None:
    pid = int(pipeline.get_properties().get("driver_pid", "0") or 0)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)  # the driver leads its own session


def _finish(step: Any, status: str, output_dir: str | None) -> None:
    from modelport.batch import launch
    from modelport.batch.driver import BatchFailed

    summary = launch.summary(step)
    if status != "Completed":
        raise BatchFailed(
            f"Batch run {step.id} {status.lower()}: {summary.get('error', 'see `modelport batch logs`')}"
        )
    result = summary.get("output")
    if output_dir and result:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        result = shutil.copy(result, Path(output_dir) / Path(result).name)
    click.echo(
        f"Batch run {step.id} completed: {summary.get('items')} {summary.get('unit')}, "
        f"{summary.get('failed_items')} failed, {summary.get('reused_mini_batches')} of "
        f"{summary.get('mini_batches')} mini-batches reused"
        + (f"; output {result}" if result else "")
    )


def _step_runs(ws: Any) -> list[Any]:
    from modelport.batch.launch import KIND, STEP

    return [r for r in ws.store.list_runs() if r.properties.get(KIND) == STEP]


@batch.command("list")
@workspace_option
@output_option
def list_runs(workspace_path: str | None, output: str) -> None:
    """Batch runs in the workspace, newest first."""
    from modelport.batch import launch
    from modelport.core.run import Run
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    rows = []
    for record in sorted(_step_runs(ws), key=lambda r: r.start_time, reverse=True):
        step = Run(ws, record.id)
        if record.parent_id:
            launch.refresh(Run(ws, record.parent_id))
        summary = launch.summary(step)
        rows.append(
            {
                "id": record.id,
                "experiment": record.experiment_name,
                "step": record.name,
                "status": step.get_status(),
                "items": summary.get("items"),
                "failed": summary.get("failed_items"),
                "started": _time(record.start_time),
            }
        )
    if output == "json":
        emit_json(rows)
        return
    emit_table(
        None,
        ["Run", "Experiment", "Step", "Status", "Items", "Failed", "Started"],
        (list(r.values()) for r in rows),
    )


@batch.command("show")
@workspace_option
@click.argument("run_id")
@output_option
def show(workspace_path: str | None, run_id: str, output: str) -> None:
    """One batch run: status, counts, progress, output (a step or its pipeline run id)."""
    from modelport.batch import launch, progress
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    pipeline, step = _pair(ws, run_id)
    launch.refresh(pipeline)
    data: dict[str, Any] = {
        "id": step.id,
        "pipeline_run": pipeline.id,
        "experiment": step.experiment_name,
        "step": step._record.name,
        "status": step.get_status(),
        **{k: v for k, v in launch.summary(step).items() if k not in ("step", "run_id", "status")},
    }
    snap = progress.read(step.files_dir / "progress.json")
    if snap:
        data["progress"] = progress.render(snap)
    data["logs"] = str(step.files_dir / "logs")
    if output == "json":
        emit_json(data)
    else:
        emit_mapping(data)


@batch.command("logs")
@workspace_option
@click.argument("run_id")
@click.option(
    "--mini-batches", is_flag=True, help="The per-mini-batch log instead of the driver's."
)
@click.option(
    "--worker", type=int, default=None, help="One worker's output (its prints and tracebacks)."
)
@click.option(
    "--shard",
    type=int,
    default=None,
    help="node_count > 1: one shard's logs (its driver lines and pod logs; with --worker or "
    "--mini-batches, that shard's).",
)
def logs(
    workspace_path: str | None,
    run_id: str,
    mini_batches: bool,
    worker: int | None,
    shard: int | None,
) -> None:
    """The driver log of a batch run (or its per-mini-batch, worker or shard logs)."""
    from modelport.core.workspace import Workspace
    from modelport.errors import NotFound

    ws = Workspace.get(workspace_path)
    pipeline, step = _pair(ws, run_id)
    folder = step.files_dir / "logs" / (f"shard-{shard}" if shard is not None else "")
    if shard is not None and not folder.is_dir():
        raise NotFound(f"Run {step.id} has no shard {shard}.", hint="Shards count from 0.")
    if worker is not None:
        path = folder / f"worker-{worker}.log"
    elif mini_batches:
        path = folder / "mini_batches.log"
    elif shard is not None:
        driver = (pipeline.files_dir / "logs" / "driver.log").read_text(errors="replace")
        mark = f" shard {shard}/"
        click.echo("".join(line for line in driver.splitlines(True) if mark in line), nl=False)
        for pod in sorted(folder.glob("pod-*.log")):
            click.echo(f"--- {pod.stem} ---")
            click.echo(pod.read_text(encoding="utf-8", errors="replace"), nl=False)
        return
    else:
        path = pipeline.files_dir / "logs" / "driver.log"
    if not path.is_file():
        raise NotFound(f"Run {step.id} has no log {path.name} yet.")
    click.echo(path.read_text(encoding="utf-8", errors="replace"), nl=False)


def _pair(ws: Any, run_id: str) -> tuple[Any, Any]:
    """(pipeline run, step run) from either id."""
    from modelport.batch.launch import KIND, PIPELINE, STEP
    from modelport.core.run import Run

    run = Run(ws, run_id)
    kind = run.get_properties().get(KIND)
    if kind == STEP and run.parent is not None:
        return run.parent, run
    if kind == PIPELINE:
        children = run.get_children()
        if children:
            return run, children[0]
    raise InvalidArgument(f"Run {run_id} is not a batch run.", hint="See `modelport batch list`.")


def _time(ts: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(ts).isoformat(timespec="seconds")
