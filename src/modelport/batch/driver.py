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
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelport.batch.journal import Entry, Journal, part_path
from modelport.batch.plan import MiniBatch, plan
from modelport.batch.pool import Outcome, Pool, worker_env
from modelport.batch.progress import Progress
from modelport.batch.spec import APPEND_ROW, FILES, BatchSpec
from modelport.errors import InvalidArgument, ModelportError

JOB = "job.json"
STEP = "step.json"
SUMMARY = "summary.json"
PID_FILE = "driver.pid"


class BatchFailed(ModelportError):
    """The step ran but failed: too many failed items, or its script could not start."""

    exit_code = 1


class DriverLog:
    """Timestamped lines in the pipeline run's driver.log (what wait_for_completion shows)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (lives with the driver)

    def __call__(self, line: str) -> None:
        self._file.write(f"{time.strftime('%H:%M:%S')} {line}\n")


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
        runner = _Runner(spec, batches, entries, journal, progress, folder, log)
        if pending:
            pool = Pool(
                python=python,
                job_file=folder / STEP,
                logs=folder / "logs",
                workers=min(spec.process_count, len(pending)),
                timeout=spec.run_invocation_timeout,
                max_tries=spec.run_max_try,
                tasks=lambda i: batches[i].task(),
                items=lambda i: len(batches[i].files) or 1,
                env=worker_env({"MODELPORT_WORKSPACE": str(ws.path)}),
                log=log,
            )
            try:
                pool.run(pending, runner.on_outcome)
            finally:
                pool.close()
                runner.close()
        progress.finish()
        if runner.exceeded():
            raise BatchFailed(runner.threshold_message())
        if append:
            _assemble(work, batches, entries, output_dir / spec.append_row_file_name)
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


class _Runner:
    """Receives outcomes: journal them, count failures against the threshold, log each."""

    def __init__(
        self,
        spec: BatchSpec,
        batches: list[MiniBatch],
        entries: dict[int, Entry],
        journal: Journal,
        progress: Progress,
        folder: Path,
        log: DriverLog,
    ) -> None:
        self.spec = spec
        self.batches = batches
        self.entries = entries
        self.journal = journal
        self.progress = progress
        self.log = log
        self.failures = sum(e.failures for e in entries.values())
        self.failed_inputs: list[str] = []
        self.failed_batches: list[str] = []
        self._mb_log = open(folder / "logs" / "mini_batches.log", "a", encoding="utf-8")  # noqa: SIM115

    def on_outcome(self, outcomes: list[Outcome]) -> bool:
        new: list[Entry] = []
        lines = []
        for o in outcomes:
            entry = Entry(
                o.index, "done" if o.ok else "failed", o.items, o.results, o.size, o.crc, o.error
            )
            new.append(entry)
            if entry.status == "done":
                self.entries[o.index] = entry
            batch = self.batches[o.index]
            if entry.failures:
                self.failures += entry.failures
                self.failed_inputs += batch.input_names()
                why = o.error or f"run() returned {o.results} results for {o.items} inputs"
                self.failed_batches.append(f"{batch.describe()}: {why}")
            lines.append(
                f"{time.strftime('%H:%M:%S')} mini-batch {o.index} worker {o.worker} "
                f"try {o.tries} {entry.status} items={o.items} results={o.results} "
                f"failed={entry.failures} {o.seconds:.3f}s"
                + (f" error={o.error}" if o.error else "")
                + f" inputs={batch.describe()}\n"
            )
            self.progress.add(batch, entry)
        self.journal.record(new)
        self._mb_log.writelines(lines)
        self._mb_log.flush()
        self.progress.maybe_write(self.failures, self.log)
        if self.exceeded():
            self.log(self.threshold_message())
            return False
        return True

    def close(self) -> None:
        self._mb_log.close()

    def exceeded(self) -> bool:
        return self.spec.error_threshold >= 0 and self.failures > self.spec.error_threshold

    def threshold_message(self) -> str:
        unit = "files" if self.spec.input_kind == FILES else "rows"
        shown = "; ".join(self.failed_batches[:5])
        more = f"; and {len(self.failed_batches) - 5} more" if len(self.failed_batches) > 5 else ""
        return (
            f"error_threshold {self.spec.error_threshold} exceeded: {self.failures} failed "
            f"{unit}. Failing inputs: {shown}{more}"
        )


def _assemble(work: Path, batches: list[MiniBatch], entries: dict[int, Entry], dest: Path) -> None:
    """Concatenate result parts in input order into the one append_row file (atomically)."""
    tmp = dest.with_name(f".{dest.name}.part")
    with open(tmp, "wb") as out:
        for batch in batches:
            entry = entries.get(batch.index)
            if entry is not None and entry.status == "done" and entry.size:
                with open(part_path(work, batch.index), "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
    os.replace(tmp, dest)


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
