"""A batch step with `node_count > 1`: shards on an attached compute, gathered here.

The driver on this machine plans the step (the same plan every shard computes), writes the
shards' job file, and hands the run to the compute's `ShardExecutor` (`deploy/shards.py`;
the Kubernetes target runs one Indexed Job). Every shard journals its own mini-batches in
`<work>/shard-k/` on storage this machine shares with the nodes. When the shards have ended
the driver reads their journals and summaries: failures are counted over all shards against
`error_threshold`, failing inputs are named, and the append_row file is concatenated in
input order from the shards' parts by the same function a local run uses, so it is byte for
byte the output of a `node_count=1` run.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

from modelport._jsonfile import read_json, write_json
from modelport.batch import shard as shards
from modelport.batch.journal import Entry, Journal, part_path
from modelport.batch.outcomes import BatchFailed, DriverLog, assemble, exceeded, threshold_message
from modelport.batch.plan import MiniBatch, plan
from modelport.batch.progress import Progress
from modelport.batch.progress import read as read_progress
from modelport.batch.spec import APPEND_ROW, FILES, BatchSpec
from modelport.errors import Conflict, EntryScriptError, InvalidArgument

STEP = "step.json"


class ShardsFailed(BatchFailed):
    """A shard ended without a verdict (its pods kept failing); the reason names it."""


def executor(ws: Any, spec: BatchSpec) -> Any:
    """The ShardExecutor of the step's compute; InvalidArgument (one line) when there is none
    or it cannot share this machine's folders."""
    from modelport.deploy.computes import get_compute
    from modelport.deploy.shards import executor_for

    assert spec.compute is not None
    compute = get_compute(ws, spec.compute)
    found = executor_for(compute)
    if found is None:
        raise InvalidArgument(
            f"Compute '{compute.name}' ({compute.compute_type}) cannot run a step on several nodes.",
            hint="Attach a Kubernetes cluster, or use node_count=1.",
        )
    problem = found.unsupported(compute)
    if problem:
        raise InvalidArgument(f"node_count={spec.node_count}: {problem}")
    return compute, found


def folders(ws: Any, spec: BatchSpec) -> list[Any]:
    """The folders shards need at this machine's paths: the workspace (run folders, work
    folders; written) and, read-only, the source directory and the inputs' folders."""
    from modelport.deploy.shards import Folder

    wanted = {str(ws.path): True, spec.source_directory: False}
    for path in spec.inputs:
        wanted.setdefault(os.path.dirname(os.path.abspath(path)), False)
    roots: dict[str, bool] = {}
    for path in sorted(wanted, key=len):
        parent = next((r for r in roots if path == r or path.startswith(r.rstrip("/") + "/")), None)
        if parent is None:
            roots[path] = wanted[path]
        else:
            roots[parent] = roots[parent] or wanted[path]
    return [Folder(p, w) for p, w in roots.items()]


def execute(ws: Any, run_id: str, spec: BatchSpec, folder: Path, log: DriverLog) -> dict[str, Any]:
    started = time.time()
    compute, runner = executor(ws, spec)
    batches = plan(spec)
    if not batches:
        raise InvalidArgument("The input holds no data to process.")
    count = spec.node_count
    fingerprint = spec.fingerprint()
    work = ws.path / "batch" / fingerprint
    plan_id = f"{fingerprint}:{len(batches)}"
    append = spec.output_action == APPEND_ROW
    unit = "files" if spec.input_kind == FILES else "rows"
    lock = Journal.open(work, plan_id, fresh=not spec.allow_reuse, check_parts=False)
    try:
        lock.claim(run_id)  # one run per work folder, as locally
        if not spec.allow_reuse:
            for old in work.glob("shard-*"):
                shutil.rmtree(old, ignore_errors=True)
        output_dir = folder / "outputs" / spec.output_name
        output_dir.mkdir(parents=True, exist_ok=True)
        logs = folder / "logs"
        logs.mkdir(exist_ok=True)
        step = {
            "spec": spec.to_dict(),
            "run_id": run_id,
            "work_dir": str(work),
            "output_dir": str(output_dir),
            "logs": str(logs),
            "driver_log": str(log.path),
            "shards": count,
            "plan_id": plan_id,
        }
        write_json(folder / STEP, step)
        before = _done(work, batches, plan_id, count, append)
        pending = len(batches) - len(before)
        log(
            f"step '{spec.name}': {len(batches)} mini-batches, {len(spec.inputs)} input file(s) "
            f"in {count} shards on compute '{compute.name}' ({spec.process_count} worker(s) "
            f"each); {len(before)} reused from earlier runs, {pending} to run"
        )
        if pending:
            _run_shards(ws, run_id, spec, compute, runner, folder, work, batches, log)
        return _gather(
            spec,
            batches,
            work,
            plan_id,
            folder,
            output_dir,
            started,
            len(before),
            unit,
            pending > 0,
        )
    finally:
        lock.close()


def _run_shards(
    ws: Any,
    run_id: str,
    spec: BatchSpec,
    compute: Any,
    runner: Any,
    folder: Path,
    work: Path,
    batches: list[MiniBatch],
    log: DriverLog,
) -> None:
    from modelport.configs import InferenceConfig
    from modelport.deploy.shards import ShardedJob
    from modelport.environments import Environment

    count = spec.node_count
    for k in range(count):  # a summary of an earlier run must not pass for this one's
        (shards.shard_dir(work, k) / shards.SUMMARY).unlink(missing_ok=True)
    environment = Environment.from_dict(spec.environment) if spec.environment else None
    job = ShardedJob(
        workspace=ws,
        compute=compute,
        name=f"{spec.name}-{run_id}",
        shards=count,
        command=["python", "-m", "modelport.batch.shard", str(folder / STEP)],
        folders=folders(ws, spec),
        inference_config=InferenceConfig(
            entry_script=spec.entry_script,
            source_directory=spec.source_directory,
            environment=environment,
        ),
        logs=str(folder / "logs"),
        max_tries=spec.run_max_try,
        group=work.name,  # the work folder's fingerprint
        step=spec.name,
    )
    watcher = _ProgressWatcher(
        folder, batches, count, "files" if spec.input_kind == FILES else "rows"
    )
    previous = signal.signal(signal.SIGTERM, _stopped)  # `modelport batch run` Ctrl-C
    try:
        ends = runner.run(job, log)
    finally:
        signal.signal(signal.SIGTERM, previous)
        watcher.stop()
    for end in ends:
        summary = read_json(shards.shard_dir(work, end.index) / shards.SUMMARY)
        if summary is None:
            raise ShardsFailed(
                f"Shard {end.index} of {count} did not finish: {end.reason or 'no summary written'}."
            )
        if summary.get("error"):
            raise EntryScriptError(f"Shard {end.index}: {summary['error']}")


def _stopped(signum: int, frame: Any) -> None:
    """SIGTERM while shards run: unwind, so the executor deletes what it started."""
    raise ShardsFailed("The run was stopped (SIGTERM); its shards were ended.")


def _done(
    work: Path, batches: list[MiniBatch], plan_id: str, count: int, append: bool
) -> dict[int, Entry]:
    """Mini-batches the shards' journals hold as done. A journal still locked belongs to a pod
    of an earlier run whose driver was killed (the executor ends it): counted as not done."""
    done: dict[int, Entry] = {}
    for k in range(count):
        try:
            journal = Journal.open(
                shards.shard_dir(work, k),
                shards.shard_plan_id(plan_id, k, count),
                fresh=False,
                check_parts=append,
            )
        except Conflict:
            continue
        try:
            done.update(journal.done)
        finally:
            journal.close()
    return done


def _gather(
    spec: BatchSpec,
    batches: list[MiniBatch],
    work: Path,
    plan_id: str,
    folder: Path,
    output_dir: Path,
    started: float,
    reused: int,
    unit: str,
    ran: bool,
) -> dict[str, Any]:
    count = spec.node_count
    append = spec.output_action == APPEND_ROW
    entries = _done(work, batches, plan_id, count, append)
    failures = sum(e.failures for e in entries.values())
    failed: list[tuple[int, str]] = []
    failed_inputs: list[str] = []
    cpu = 0.0
    if ran:  # each shard's summary counts its failures, reused mini-batches' included
        failures = 0
        for k in range(count):
            summary = read_json(shards.shard_dir(work, k) / shards.SUMMARY) or {}
            failures += int(summary.get("failures") or 0)
            failed += [(int(i), str(t)) for i, t in summary.get("failed_batches", [])]
            failed_inputs += summary.get("failed_inputs", [])
            cpu += float(summary.get("cpu_s") or 0)
    _merge_logs(folder / "logs", count)
    progress = Progress(folder / "progress.json", batches, entries, unit)
    progress.failures = failures
    progress.finish()
    failed.sort()
    if exceeded(spec, failures):
        raise BatchFailed(threshold_message(spec, failures, [t for _, t in failed]))
    failed_indexes = {i for i, _ in failed}
    missing = [b.index for b in batches if b.index not in entries and b.index not in failed_indexes]
    if missing:
        raise ShardsFailed(
            f"{len(missing)} mini-batch(es) were not run by their shard (first: {missing[:5]})."
        )
    if append:
        assemble(
            batches,
            entries,
            lambda i: part_path(shards.shard_dir(work, shards.shard_of(i, count)), i),
            output_dir / spec.append_row_file_name,
        )
    return {
        "mini_batches": len(batches),
        "reused_mini_batches": reused,
        "items": sum(e.items for e in entries.values()),
        "failed_items": failures,
        "unit": unit,
        "seconds": round(time.time() - started, 3),
        "worker_cpu_s": round(cpu, 3),  # the shards' own and their workers', on the nodes
        "driver_cpu_s": round(time.process_time(), 3),
        "output": str(output_dir / spec.append_row_file_name) if append else None,
        "failed_inputs": failed_inputs[:100],
        "node_count": count,
    }


def _merge_logs(logs: Path, count: int) -> None:
    """The shards' per-mini-batch lines, appended to the run's own mini_batches.log (what
    `modelport batch logs --mini-batches` shows); each shard keeps its file too."""
    with open(logs / "mini_batches.log", "a", encoding="utf-8") as out:
        for k in range(count):
            path = logs / f"shard-{k}" / "mini_batches.log"
            if path.is_file():
                with open(path, encoding="utf-8") as part:
                    shutil.copyfileobj(part, out)


class _ProgressWatcher:
    """While the shards run, sums their progress files into the run's progress.json, so
    `wait_for_completion(show_output=True)` draws one bar for the whole step."""

    def __init__(self, folder: Path, batches: list[MiniBatch], count: int, unit: str) -> None:
        self.folder = folder
        self.count = count
        self.progress = Progress(folder / "progress.json", batches, {}, unit)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            snaps = [
                read_progress(self.folder / "logs" / f"shard-{k}" / "progress.json")
                for k in range(self.count)
            ]
            found = [s for s in snaps if s]
            if not found:
                continue
            p = self.progress
            p.done_batches = sum(s["done_batches"] for s in found)
            p.done_weight = sum(s["done_weight"] for s in found)
            p.items = sum(s["items"] for s in found)
            p.failures = sum(s["failures"] for s in found)
            p.write("Running")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
