"""The batch driver process: runs a pipeline's steps and records them as runs.

`python -m modelport.batch.driver JOB_JSON` — started detached by `Experiment.submit` (and
the CLI), so a notebook can wait, disconnect or die without stopping the run. Per step it
builds the environment, plans mini-batches, reopens the step's journal (skipping finished
work), runs the worker pool, enforces `error_threshold`, and assembles the output in input
order. Statuses go to the metadata store; logs and outputs to the run's folder.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelport.batch.journal import Journal, part_path
from modelport.batch.outcomes import BatchFailed, DriverLog, Runner, assemble, run_pending
from modelport.batch.plan import plan
from modelport.batch.pool import worker_env
from modelport.batch.progress import Progress
from modelport.batch.spec import APPEND_ROW, FILES, BatchSpec
from modelport.errors import InvalidArgument, ModelportError

JOB = "job.json"
STEP = "step.json"
SUMMARY = "summary.json"
PID_FILE = "driver.pid"


def main(argv: list[str]) -> int:
    from modelport.workspace import Workspace

    if argv[0] == "--detach":
        argv = argv[1:]
        _detach(Path(argv[0]).parent / PID_FILE)
    job_path = Path(argv[0])
    job = json.loads(job_path.read_text(encoding="utf-8"))
    log = DriverLog(job_path.parent / "logs" / "driver.log")
    ws = Workspace.get(job["workspace"])
    status = "Completed"
    try:
        for step in job["steps"]:
            if status == "Completed":
                spec = BatchSpec.from_dict(step["spec"])
                marked = bool(step.get("marked_running"))
                status = run_step(ws, step["run_id"], spec, log, marked_running=marked)
            else:
                ws.store.update_run(step["run_id"], status="Canceled", end_time=time.time())
    finally:
        ws.store.update_run(job["pipeline_run"], status=status, end_time=time.time())
        log(f"pipeline run {job['pipeline_run']}: {status}")
        ws.close()
    return 0 if status == "Completed" else 1


def _detach(pid_file: Path) -> None:
    """Double fork: the driver is nobody's child (no zombie, no warning in the caller) and
    leads its own session; the middle process writes its PID before the caller returns."""
    pid = os.fork()
    if pid:
        import psutil

        started = psutil.Process(pid).create_time()
        _write_json(pid_file, {"pid": pid, "started": started})
        os._exit(0)
    os.setsid()


def run_step(
    ws: Any, run_id: str, spec: BatchSpec, log: DriverLog, *, marked_running: bool = False
) -> str:
    folder = ws.path / "runs" / run_id
    # The first store write loads SQLAlchemy (a quarter of a CPU second, about a second on a
    # busy machine), CPU the workers need: the submitter marks the first step Running as it
    # starts the driver, and a later step's write runs beside the planning and the workers'
    # start instead of before them.
    running = _Background(
        (lambda: None) if marked_running else lambda: ws.store.update_run(run_id, status="Running")
    )
    log(f"step '{spec.name}' (run {run_id}): starting")
    summary: dict[str, Any] = {"step": spec.name, "run_id": run_id}
    try:
        try:
            summary.update(_execute(ws, run_id, spec, folder, log))
        finally:
            running.join()
        status = "Completed"
    except ModelportError as exc:
        summary["error"] = str(exc)
        log(f"step '{spec.name}': failed: {exc}")
        status = "Failed"
    except Exception as exc:  # a bug of ours: keep the traceback for the report
        summary["error"] = f"{type(exc).__name__}: {exc}"
        log(f"step '{spec.name}': internal error\n{traceback.format_exc()}")
        status = "Failed"
    summary["status"] = status
    _write_json(folder / SUMMARY, summary)
    ws.store.update_run(run_id, status=status, end_time=time.time())
    log(f"step '{spec.name}': {status}")
    return status


class _Background:
    """Run `fn` on a thread; `join()` waits and re-raises what it raised."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except BaseException as exc:
            self._error = exc

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def _execute(ws: Any, run_id: str, spec: BatchSpec, folder: Path, log: DriverLog) -> dict[str, Any]:
    if spec.compute is not None:  # node_count shards on an attached compute's nodes
        from modelport.batch import sharded

        return sharded.execute(ws, run_id, spec, folder, log)
    started = time.time()
    python = _python(ws, spec, log)
    batches = plan(spec)
    if not batches:
        raise InvalidArgument("The input holds no data to process.")
    fingerprint = spec.fingerprint()
    work = ws.path / "batch" / fingerprint
    append = spec.output_action == APPEND_ROW
    journal = Journal.open(
        work, f"{fingerprint}:{len(batches)}", fresh=not spec.allow_reuse, check_parts=append
    )
    try:
        journal.claim(run_id)
        output_dir = folder / "outputs" / spec.output_name
        output_dir.mkdir(parents=True, exist_ok=True)
        (folder / "logs").mkdir(exist_ok=True)
        _write_json(
            folder / STEP,
            {"spec": spec.to_dict(), "work_dir": str(work), "output_dir": str(output_dir)},
        )
        entries = dict(journal.done)
        pending = [b.index for b in batches if b.index not in entries]
        unit = "files" if spec.input_kind == FILES else "rows"
        log(
            f"step '{spec.name}': {len(batches)} mini-batches, {len(spec.inputs)} input file(s); "
            f"{len(entries)} reused from earlier runs, {len(pending)} to run "
            f"on {spec.process_count} worker(s)"
        )
        progress = Progress(folder / "progress.json", batches, entries, unit)
        runner = Runner(
            spec,
            {b.index: b for b in batches},
            entries,
            journal,
            progress,
            folder / "logs" / "mini_batches.log",
            log,
        )
        try:
            if pending:
                run_pending(
                    runner,
                    pending,
                    python=python,
                    job_file=folder / STEP,
                    logs=folder / "logs",
                    env=worker_env({"MODELPORT_WORKSPACE": str(ws.path)}),
                )
        finally:
            runner.close()
        progress.finish()
        if runner.exceeded():
            raise BatchFailed(runner.threshold_message())
        if append:
            assemble(
                batches,
                entries,
                lambda i: part_path(work, i),
                output_dir / spec.append_row_file_name,
            )
        journal.mark_complete()
    finally:
        journal.close()
    return {
        "mini_batches": len(batches),
        "reused_mini_batches": len(journal.done),
        "items": progress.items,
        "failed_items": runner.failures,
        "unit": unit,
        "seconds": round(time.time() - started, 3),
        # CPU the step used, whatever the machine's load: workers (reaped) and the driver
        "worker_cpu_s": round(_children_cpu(), 3),
        "driver_cpu_s": round(time.process_time(), 3),
        "output": str(output_dir / spec.append_row_file_name) if append else None,
        "failed_inputs": runner.failed_inputs[:100],
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _python(ws: Any, spec: BatchSpec, log: DriverLog) -> str:
    if spec.environment is None:
        return sys.executable
    from modelport.environments import Environment, build_environment

    env = Environment.from_dict(spec.environment)
    log(f"environment '{env.name}': resolving")
    built = build_environment(env, ws.path / "envs", log)
    log(f"environment '{env.name}': {'reused' if built.reused else 'built'} at {built.path}")
    return str(built.python)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
