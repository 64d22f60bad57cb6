"""Starting a batch pipeline run, and watching it from any process.

`start` records the pipeline run and one child run per step, writes the job file and starts
the driver detached (its own session), so the caller may wait or walk away. Watchers read
the store, `driver.log` and `progress.json`; a driver that died (killed machine, SIGKILL)
is noticed by its PID and start time, and its run marked Failed — resubmitting resumes it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from modelport._procs import process_alive
from modelport.batch import progress
from modelport.batch.driver import JOB, PID_FILE, SUMMARY
from modelport.batch.spec import BatchSpec
from modelport.registry.runs import Run

KIND = "modelport.kind"
PIPELINE = "pipeline"
STEP = "batch-step"
FINAL = {"Completed", "Failed", "Canceled"}


def start(
    ws: Any,
    experiment: str,
    specs: list[BatchSpec],
    *,
    tags: dict[str, str] | None = None,
    name: str | None = None,
) -> tuple[Run, list[Run]]:
    parent = Run._start(ws, experiment, None, name or "pipeline", None)
    parent.add_properties({KIND: PIPELINE})
    for key, value in (tags or {}).items():
        parent.tag(key, value)
    steps = []
    for spec in specs:
        step = Run._start(ws, experiment, parent.id, spec.name, None)
        ws.store.update_run(step.id, status="NotStarted")
        step.add_properties({KIND: STEP, "step_name": spec.name, "output_name": spec.output_name})
        steps.append(step)
    # The first step is Running from the driver's start: marked here, where the store is
    # open already, so the driver touches it only at the end, when the workers are done.
    ws.store.update_run(steps[0].id, status="Running")
    job = {
        "workspace": str(ws.path),
        "pipeline_run": parent.id,
        "steps": [
            {"run_id": s.id, "spec": spec.to_dict(), "marked_running": n == 0}
            for n, (s, spec) in enumerate(zip(steps, specs, strict=True))
        ],
    }
    job_file = parent.files_dir / JOB
    job_file.write_text(json.dumps(job, indent=2), encoding="utf-8")
    (parent.files_dir / "logs").mkdir(exist_ok=True)
    with open(parent.files_dir / "logs" / "driver.out", "ab") as out:
        # --detach: the driver forks away and outlives the notebook or CLI that started it
        subprocess.run(
            [sys.executable, "-m", "modelport.batch.driver", "--detach", str(job_file)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(parent.files_dir),
            check=True,
        )
    driver = json.loads((parent.files_dir / PID_FILE).read_text(encoding="utf-8"))
    parent.add_properties(
        {"driver_pid": str(driver["pid"]), "driver_started": str(driver["started"])}
    )
    return parent, steps


def driver_alive(pipeline: Run) -> bool:
    props = pipeline.get_properties()
    pid = int(props.get("driver_pid", "0") or 0)
    return process_alive(pid, float(props.get("driver_started", "0")))


def refresh(pipeline: Run) -> str:
    """The pipeline's status; a Running run whose driver is gone becomes Failed."""
    status = Run.get_status(pipeline)
    if status in FINAL or driver_alive(pipeline):
        return status
    status = Run.get_status(pipeline)  # the driver may have finished just now
    if status in FINAL:
        return status
    note = "the driver process ended before the run finished; submit again to resume"
    with open(pipeline.files_dir / "logs" / "driver.log", "a", encoding="utf-8") as f:
        f.write(f"{time.strftime('%H:%M:%S')} {note}\n")
    store = pipeline.workspace.store
    for child in store.list_runs(parent_id=pipeline.id):
        if child.status not in FINAL:
            store.update_run(child.id, status="Failed", end_time=time.time())
    store.update_run(pipeline.id, status="Failed", end_time=time.time())
    return Run.get_status(pipeline)


def wait(pipeline: Run, show_output: bool, timeout: float | None, out: TextIO) -> str:
    """Block until the pipeline run ends; with show_output, stream the log and a progress line."""
    log_path = pipeline.files_dir / "logs" / "driver.log"
    offset = 0
    deadline = None if timeout is None else time.monotonic() + timeout
    live = show_output and out.isatty()
    shown = ""
    while True:
        status = refresh(pipeline)
        if show_output:
            offset, text = _read_from(log_path, offset)
            line = _progress_line(pipeline) if live else ""
            if text or (live and line != shown):
                if live:
                    out.write("\r\033[K")
                out.write(text)
                if live and line and status not in FINAL:
                    out.write(line)
                out.flush()
                shown = line
        if status in FINAL:
            if show_output:
                out.write(f"{'' if not live else chr(13)}Run {pipeline.id}: {status}\n")
                out.flush()
            return status
        if deadline is not None and time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def _read_from(path: Path, offset: int) -> tuple[int, str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            f.seek(offset)
            text = f.read()
            return f.tell(), text
    except FileNotFoundError:
        return offset, ""


def _progress_line(pipeline: Run) -> str:
    for child in pipeline.workspace.store.list_runs(parent_id=pipeline.id):
        if child.status == "Running":
            snap = progress.read(pipeline.workspace.path / "runs" / child.id / "progress.json")
            if snap:
                return progress.render(snap)
    return ""


def summary(step: Run) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((step.files_dir / SUMMARY).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        data = {}
    return data
