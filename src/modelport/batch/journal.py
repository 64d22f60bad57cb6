"""The durable progress record of one step's work folder: an append-only JSONL file.

A worker writes a mini-batch's result part first (temp file + rename), then the driver
appends a line naming the part's size and CRC (fsynced in groups). On resume a part counts as done
only when its line is present and the part still matches it, so a crash at any point
either keeps a whole result or redoes the mini-batch, never both: no duplicate rows.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from modelport.errors import Conflict

JOURNAL = "journal.jsonl"
PARTS = "parts"
LOCK = ".lock"
SYNC_EVERY = 0.5


@dataclass
class Entry:
    index: int
    status: str  # "done" | "failed"
    items: int
    results: int
    size: int = 0
    crc: int = 0
    error: str | None = None

    @property
    def failures(self) -> int:
        return self.items if self.status == "failed" else max(0, self.items - self.results)


def part_path(work: Path, index: int) -> Path:
    return work / PARTS / f"{index:07d}.part"


def crc_of(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


class Journal:
    """Open with `Journal.open(work_dir, plan_id)`; holds the folder's lock until closed."""

    def __init__(self, work: Path, lock: IO[str], out: IO[str], done: dict[int, Entry]) -> None:
        self.work = work
        self._lock = lock
        self._out = out
        self.done = done  # index -> entry reused from earlier runs (status "done")
        self._synced = time.monotonic()
        self.completed_before = False

    @classmethod
    def open(cls, work: Path, plan_id: str, *, fresh: bool, check_parts: bool) -> Journal:
        work.mkdir(parents=True, exist_ok=True)
        lock = open(work / LOCK, "a+")  # noqa: SIM115 (held until close())
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another run"
            lock.close()
            raise Conflict(
                f"Run {holder} is processing the same inputs with the same script right now.",
                hint="Wait for it to finish (its results will be reused) or pass allow_reuse=False.",
            ) from None
        journal_path = work / JOURNAL
        done: dict[int, Entry] = {}
        completed = False
        if fresh or not _same_plan(journal_path, plan_id):
            with contextlib.suppress(FileNotFoundError):
                journal_path.unlink()
            shutil.rmtree(work / PARTS, ignore_errors=True)
        else:
            done, completed = _read(journal_path, work, check_parts)
        (work / PARTS).mkdir(exist_ok=True)
        out = open(journal_path, "a", encoding="utf-8")  # noqa: SIM115 (held until close())
        if out.tell() == 0:
            out.write(json.dumps({"plan": plan_id}) + "\n")
            _sync(out)
        journal = cls(work, lock, out, done)
        journal.completed_before = completed
        return journal

    def claim(self, run_id: str) -> None:
        """Record who holds the lock, for the message a concurrent run gets."""
        self._lock.seek(0)
        self._lock.truncate()
        self._lock.write(run_id)
        self._lock.flush()

    def record(self, entries: list[Entry]) -> None:
        """Append entries; fsync at most every SYNC_EVERY seconds (group commit).

        Written lines reach the OS at once, so a killed driver loses nothing; a power loss
        loses at most the last SYNC_EVERY seconds of progress, which is then redone (parts are
        keyed by mini-batch, so redoing never duplicates rows). Syncing every line would make
        the disk, not the workers, set the pace.
        """
        for e in entries:
            self._out.write(json.dumps(e.__dict__) + "\n")
        self._out.flush()
        now = time.monotonic()
        if now - self._synced >= SYNC_EVERY:
            os.fsync(self._out.fileno())
            self._synced = now

    def mark_complete(self) -> None:
        self._out.write(json.dumps({"complete": True}) + "\n")
        _sync(self._out)

    def close(self) -> None:
        _sync(self._out)
        self._out.close()
        self._lock.close()


def _sync(f: IO[str]) -> None:
    f.flush()
    os.fsync(f.fileno())


def _same_plan(path: Path, plan_id: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            first = json.loads(f.readline() or "{}")
    except (FileNotFoundError, ValueError):
        return False
    return bool(first.get("plan") == plan_id)


def _read(path: Path, work: Path, check_parts: bool) -> tuple[dict[int, Entry], bool]:
    done: dict[int, Entry] = {}
    completed = False
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for line in lines[1:]:
        try:
            data: dict[str, Any] = json.loads(line)
        except ValueError:
            continue  # the torn last line of a killed driver
        if data.get("complete"):
            completed = True
            continue
        entry = Entry(**data)
        if entry.status != "done":
            done.pop(entry.index, None)  # failed mini-batches are tried again on resume
            continue
        if check_parts and not _part_matches(work, entry):
            continue
        done[entry.index] = entry
    return done, completed


def _part_matches(work: Path, entry: Entry) -> bool:
    part = part_path(work, entry.index)
    try:
        return part.stat().st_size == entry.size and crc_of(part) == entry.crc
    except FileNotFoundError:
        return False
