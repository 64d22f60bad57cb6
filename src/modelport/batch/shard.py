"""One shard of a batch step, on a cluster node: `python -m modelport.batch.shard STEP_JSON`.

The driver on this machine wrote STEP_JSON (`batch/sharded.py`) into the run folder, which the
node sees at the same path (shared storage). The shard's index comes from
`JOB_COMPLETION_INDEX` (set by an Indexed Job, or by the executor). Shard k of n takes the
mini-batches whose index i has i % n == k (the same plan on every node: it is a pure function
of the inputs), runs them through `process_count_per_node` workers exactly as the local
driver does, and keeps its own journal and result parts in `shard-k/` of the step's work
folder, so a pod that is killed and started again resumes its shard without duplicate rows.
It ends by writing `shard-k/summary.json`, which the driver gathers.

Exit 0 once the shard reached a verdict (done, too many failures, or an init() that fails:
trying again would not help); anything else is a crash the executor retries.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

from modelport._jsonfile import write_json
from modelport.batch.journal import Journal
from modelport.batch.outcomes import DriverLog, Runner, run_pending
from modelport.batch.plan import MiniBatch, plan
from modelport.batch.pool import worker_env
from modelport.batch.progress import Progress
from modelport.batch.spec import APPEND_ROW, FILES, BatchSpec
from modelport.errors import Conflict, ModelportError

INDEX_VARIABLE = "JOB_COMPLETION_INDEX"  # = modelport.deploy.shards.INDEX_VARIABLE
SUMMARY = "summary.json"
LOCK_WAIT_S = 120.0


def shard_dir(work: Path, index: int) -> Path:
    return work / f"shard-{index}"


def shard_of(batch_index: int, shards: int) -> int:
    """Which shard runs a mini-batch: round robin, so every shard gets a slice of each file."""
    return batch_index % shards


def shard_plan_id(plan_id: str, index: int, shards: int) -> str:
    return f"{plan_id}:shard-{index}-of-{shards}"


def mine(batches: list[MiniBatch], index: int, shards: int) -> list[MiniBatch]:
    return [b for b in batches if shard_of(b.index, shards) == index]


def main(argv: list[str]) -> int:
    # PID 1 of its container: without a handler SIGTERM is ignored and a deleted or evicted
    # pod waits out its grace period; unwinding stops the workers and closes the journal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    step = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    index = int(os.environ[INDEX_VARIABLE])
    shards = int(step["shards"])
    log = DriverLog(Path(step["driver_log"]), prefix=f"shard {index}/{shards}: ")
    try:
        summary = run_shard(step, index, shards, log)
    except ModelportError as exc:  # the entry script cannot start: final, not retried
        log(f"failed: {exc}")
        summary = {"error": str(exc), "failures": 0, "failed_batches": []}
    summary["cpu_s"] = round(_cpu(), 3)
    write_json(shard_dir(Path(step["work_dir"]), index) / SUMMARY, summary)
    return 0


def run_shard(step: dict[str, Any], index: int, shards: int, log: DriverLog) -> dict[str, Any]:
    spec = BatchSpec.from_dict(step["spec"])
    work = shard_dir(Path(step["work_dir"]), index)
    logs = Path(step["logs"]) / f"shard-{index}"
    logs.mkdir(parents=True, exist_ok=True)
    batches = mine(plan(spec), index, shards)
    journal = _open_journal(work, shard_plan_id(step["plan_id"], index, shards), spec, log)
    try:
        journal.claim(f"{step['run_id']} shard {index}")
        (work / SUMMARY).unlink(missing_ok=True)
        job_file = work / "job.json"  # the workers' view: this shard's folder is their work dir
        write_json(job_file, {**step, "work_dir": str(work)})
        entries = dict(journal.done)
        pending = [b.index for b in batches if b.index not in entries]
        unit = "files" if spec.input_kind == FILES else "rows"
        log(
            f"{len(batches)} mini-batches, {len(entries)} done before, {len(pending)} to run "
            f"on {spec.process_count} worker(s)"
        )
        progress = Progress(logs / "progress.json", batches, entries, unit)
        by_index = {b.index: b for b in batches}
        runner = Runner(spec, by_index, entries, journal, progress, logs / "mini_batches.log", log)
        try:
            if pending:
                run_pending(
                    runner,
                    pending,
                    python=sys.executable,
                    job_file=job_file,
                    logs=logs,
                    env=worker_env({}),
                )
        finally:
            runner.close()
        progress.finish()
        log(
            f"finished: {len(entries)}/{len(batches)} mini-batches done, {runner.failures} failed {unit}"
        )
        return {
            "index": index,
            "mini_batches": len(batches),
            "done": sorted(entries),
            "reused": len(journal.done),
            "items": progress.items,
            "failures": runner.failures,
            "failed_batches": [list(f) for f in runner.failed],
            "failed_inputs": runner.failed_inputs[:100],
            "stopped": runner.exceeded(),
            "finished": time.time(),
        }
    finally:
        journal.close()


def _open_journal(work: Path, plan_id: str, spec: BatchSpec, log: DriverLog) -> Journal:
    """The shard's journal, waiting for its lock: a pod that replaces a deleted one can start
    while the old one is still being killed (and holds the lock until it is gone)."""
    deadline = time.monotonic() + LOCK_WAIT_S
    waited = False
    while True:
        try:
            return Journal.open(
                work,
                plan_id,
                fresh=False,  # a retried pod resumes; the driver wipes shards when reuse is off
                check_parts=spec.output_action == APPEND_ROW,
            )
        except Conflict:
            if time.monotonic() > deadline:
                raise
            if not waited:
                log("waiting for the shard's previous pod to let go of its journal")
                waited = True
            time.sleep(1.0)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
