"""What the driver (or one shard of it) does with mini-batch outcomes, and the final output.

Shared by the local driver and by a shard running on a cluster node (`batch/shard.py`), so
both journal, count, log and judge failures the same way, and the append_row file is put
together by one function whatever ran the mini-batches.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from modelport.batch.journal import Entry, Journal
from modelport.batch.plan import MiniBatch
from modelport.batch.pool import Outcome, Pool
from modelport.batch.progress import Progress
from modelport.batch.spec import FILES, BatchSpec
from modelport.errors import ModelportError


class BatchFailed(ModelportError):
    """The step ran but failed: too many failed items, or its script could not start."""

    exit_code = 1


class DriverLog:
    """Timestamped lines in the pipeline run's driver.log (what wait_for_completion shows).

    Line-buffered appends: each line is one O_APPEND write, so the shards of a step running
    on cluster nodes can add theirs to the same file without tearing each other's."""

    def __init__(self, path: Path, prefix: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.prefix = prefix
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (lives with the driver)

    def __call__(self, line: str) -> None:
        self._file.write(f"{time.strftime('%H:%M:%S')} {self.prefix}{line}\n")


class Runner:
    """Receives outcomes: journal them, count failures against the threshold, log each."""

    def __init__(
        self,
        spec: BatchSpec,
        batches: dict[int, MiniBatch],
        entries: dict[int, Entry],
        journal: Journal,
        progress: Progress,
        mini_batch_log: Path,
        log: Callable[[str], None],
    ) -> None:
        self.spec = spec
        self.batches = batches
        self.entries = entries
        self.journal = journal
        self.progress = progress
        self.log = log
        self.failures = sum(e.failures for e in entries.values())
        self.failed_inputs: list[str] = []
        self.failed: list[tuple[int, str]] = []  # (mini-batch index, what failed)
        mini_batch_log.parent.mkdir(parents=True, exist_ok=True)
        self._mb_log = open(mini_batch_log, "a", encoding="utf-8")  # noqa: SIM115

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
                self.failed.append((o.index, f"{batch.describe()}: {why}"))
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

    @property
    def failed_batches(self) -> list[str]:
        return [text for _, text in self.failed]

    def exceeded(self) -> bool:
        return exceeded(self.spec, self.failures)

    def threshold_message(self) -> str:
        return threshold_message(self.spec, self.failures, self.failed_batches)


def run_pending(
    runner: Runner,
    pending: list[int],
    *,
    python: str,
    job_file: Path,
    logs: Path,
    env: dict[str, str],
) -> None:
    """Run the `pending` mini-batches of `runner.batches` through the step's worker pool."""
    spec, batches = runner.spec, runner.batches
    pool = Pool(
        python=python,
        job_file=job_file,
        logs=logs,
        workers=min(spec.process_count, len(pending)),
        timeout=spec.run_invocation_timeout,
        max_tries=spec.run_max_try,
        tasks=lambda i: batches[i].task(),
        items=lambda i: len(batches[i].files) or 1,
        env=env,
        log=runner.log,
    )
    try:
        pool.run(pending, runner.on_outcome)
    finally:
        pool.close()


def exceeded(spec: BatchSpec, failures: int) -> bool:
    return spec.error_threshold >= 0 and failures > spec.error_threshold


def threshold_message(spec: BatchSpec, failures: int, failed_batches: list[str]) -> str:
    unit = "files" if spec.input_kind == FILES else "rows"
    shown = "; ".join(failed_batches[:5])
    more = f"; and {len(failed_batches) - 5} more" if len(failed_batches) > 5 else ""
    return (
        f"error_threshold {spec.error_threshold} exceeded: {failures} failed "
        f"{unit}. Failing inputs: {shown}{more}"
    )


def assemble(
    batches: list[MiniBatch],
    entries: dict[int, Entry],
    part_of: Callable[[int], Path],
    dest: Path,
) -> None:
    """Concatenate result parts in input order into the one append_row file (atomically)."""
    tmp = dest.with_name(f".{dest.name}.part")
    with open(tmp, "wb") as out:
        for batch in batches:
            entry = entries.get(batch.index)
            if entry is not None and entry.status == "done" and entry.size:
                with open(part_of(batch.index), "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
    os.replace(tmp, dest)
