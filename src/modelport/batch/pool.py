"""The driver's worker pool: hand out mini-batches, enforce the run() timeout, retry, replace.

Each worker holds at most `DEPTH` tasks (one running, the rest queued in its pipe) so it never
waits on the driver between mini-batches. A worker takes its tasks in order, so the timeout
clock of its next task starts when it reports the previous one (or when an idle worker is
handed one); only a task whose size the driver cannot know (a byte range's rows) is
announced by the worker with a `begin` line, so a file mini-batch costs one reply, not two.
A worker past its timeout is killed (SIGKILL: a stuck run() cannot be interrupted any other
way), its running task counts one try, its queued tasks go back unchanged, and a new worker
(with its own init()) takes its place.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from modelport.errors import EntryScriptError

DEPTH = 3


@dataclass
class Outcome:
    """What became of one mini-batch: done (with counts) or failed after its tries."""

    index: int
    ok: bool
    items: int
    results: int = 0
    size: int = 0
    crc: int = 0
    error: str | None = None
    tries: int = 1
    worker: int = 0
    seconds: float = 0.0


@dataclass
class _Worker:
    id: int
    proc: subprocess.Popen[bytes]
    tasks: IO[str]
    replies: int  # raw fd: buffered readers hide queued lines from select()
    log: IO[bytes]
    buffer: bytes = b""
    ready: bool = False
    queued: deque[int] = field(default_factory=deque)
    running: int | None = None
    began: float = 0.0
    items: int = 0


class Pool:
    """Runs `pending` mini-batch indexes through workers; calls `on_outcome` for each result.

    `on_outcome` returns False to stop the whole run (the error threshold was crossed).
    """

    def __init__(
        self,
        *,
        python: str,
        job_file: Path,
        logs: Path,
        workers: int,
        timeout: float,
        max_tries: int,
        tasks: Callable[[int], dict[str, Any]],
        items: Callable[[int], int],
        env: dict[str, str],
        log: Callable[[str], None],
    ) -> None:
        self.python = python
        self.job_file = job_file
        self.logs = logs
        self.size = workers
        self.timeout = timeout
        self.max_tries = max_tries
        self.tasks = tasks
        self.items = items  # a task's input count as known before it runs (rows: 1)
        self.env = env
        self.log = log
        self.sel = selectors.DefaultSelector()
        self.workers: dict[int, _Worker] = {}
        self.next_id = 0
        self.tries: dict[int, int] = {}
        self.errors: dict[int, str] = {}

    # -- process management ---------------------------------------------------------------
    def _spawn(self) -> None:
        wid = self.next_id
        self.next_id += 1
        task_r, task_w = os.pipe()
        reply_r, reply_w = os.pipe()
        log = open(self.logs / f"worker-{wid}.log", "ab")  # noqa: SIM115 (closed in _retire)
        args = [str(self.job_file), str(wid), str(task_r), str(reply_w)]
        proc = subprocess.Popen(
            [self.python, "-m", "modelport.batch.worker", *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(task_r, reply_w),
            env=self.env,
        )
        os.close(task_r)
        os.close(reply_w)
        worker = _Worker(
            id=wid,
            proc=proc,
            tasks=os.fdopen(task_w, "w", buffering=1, encoding="utf-8"),
            replies=reply_r,
            log=log,
        )
        self.workers[wid] = worker
        self.sel.register(worker.replies, selectors.EVENT_READ, worker)

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        self.sel.unregister(worker.replies)
        if kill:
            with contextlib.suppress(ProcessLookupError):
                worker.proc.kill()
        with contextlib.suppress(BrokenPipeError, OSError):
            worker.tasks.close()
        worker.proc.wait()
        os.close(worker.replies)
        worker.log.close()
        del self.workers[worker.id]

    def close(self) -> None:
        for worker in list(self.workers.values()):
            self._retire(worker, kill=True)
        self.sel.close()

    # -- scheduling -----------------------------------------------------------------------
    def run(self, pending: list[int], on_outcome: Callable[[list[Outcome]], bool]) -> None:
        queue = deque(pending)
        for _ in range(min(self.size, len(queue))):
            self._spawn()
        while True:
            self._fill(queue)
            if not queue and not any(w.queued for w in self.workers.values()):
                return
            outcomes = self._wait(queue)
            self._fill(queue)  # keep workers busy while the outcomes are journalled
            if outcomes and not on_outcome(outcomes):
                return
            if not self.workers and queue:
                self._spawn()

    def _fill(self, queue: deque[int]) -> None:
        for worker in list(self.workers.values()):
            while worker.ready and queue and len(worker.queued) < DEPTH:
                index = queue.popleft()
                try:
                    worker.tasks.write(json.dumps(self.tasks(index)) + "\n")
                except (BrokenPipeError, OSError):
                    queue.appendleft(index)  # the worker died; _wait notices its EOF
                    break
                worker.queued.append(index)
                if worker.running is None:
                    self._start(worker, time.monotonic())

    def _start(self, worker: _Worker, now: float) -> None:
        """The worker's oldest queued task is the one it runs now (tasks run in order)."""
        index = worker.queued[0]
        worker.running, worker.began = index, now
        worker.items = self.items(index)

    def _wait(self, queue: deque[int]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        now = time.monotonic()
        deadlines = [w.began + self.timeout for w in self.workers.values() if w.running is not None]
        wait = max(0.0, min(deadlines) - now) if deadlines else 1.0
        for key, _ in self.sel.select(timeout=min(wait, 1.0)):
            worker: _Worker = key.data
            data = os.read(worker.replies, 1 << 16)
            if not data:
                outcomes += self._lost(worker, queue, "the worker process exited")
                continue
            *lines, worker.buffer = (worker.buffer + data).split(b"\n")
            for line in lines:
                outcomes += self._handle(worker, json.loads(line), queue)
        now = time.monotonic()
        for worker in list(self.workers.values()):
            if worker.running is not None and now - worker.began > self.timeout:
                reason = f"run() timed out after {self.timeout:g} s (run_invocation_timeout)"
                outcomes += self._lost(worker, queue, reason, kill=True)
        return outcomes

    def _handle(self, worker: _Worker, msg: dict[str, Any], queue: deque[int]) -> list[Outcome]:
        if "ready" in msg:
            worker.ready = True
            return []
        if "fatal" in msg:
            raise EntryScriptError(f"init() failed in worker {worker.id}: {msg['fatal']}")
        if "begin" in msg:
            worker.running, worker.items, worker.began = (
                msg["begin"],
                msg["items"],
                time.monotonic(),
            )
            return []
        index = int(msg["done"] if "done" in msg else msg["error"])
        with contextlib.suppress(ValueError):
            worker.queued.remove(index)
        now = time.monotonic()
        seconds = now - worker.began if worker.running == index else 0.0
        worker.running = None
        if worker.queued:
            self._start(worker, now)
        tries = self.tries.get(index, 0) + 1
        self.tries[index] = tries
        if "done" in msg:
            return [
                Outcome(
                    index,
                    True,
                    msg["items"],
                    msg["results"],
                    msg["size"],
                    msg["crc"],
                    tries=tries,
                    worker=worker.id,
                    seconds=seconds,
                )
            ]
        return self._failed(index, msg["items"], msg["message"], msg["retry"], queue, worker.id)

    def _failed(
        self, index: int, items: int, error: str, retry: bool, queue: deque[int], wid: int
    ) -> list[Outcome]:
        tries = self.tries[index]
        if retry and tries < self.max_tries:
            self.log(f"mini-batch {index}: try {tries} failed ({error}); trying again")
            queue.appendleft(index)
            return []
        return [Outcome(index, False, items, error=error, tries=tries, worker=wid)]

    def _lost(
        self, worker: _Worker, queue: deque[int], reason: str, *, kill: bool = False
    ) -> list[Outcome]:
        """A worker died or was killed: its running task used a try, the others go back."""
        was_ready = worker.ready
        running, items = worker.running, worker.items
        rest = [i for i in worker.queued if i != running]
        self._retire(worker, kill=kill)
        if not was_ready:
            raise EntryScriptError(
                f"A worker exited during init() (see {self.logs / f'worker-{worker.id}.log'}): "
                f"{reason}."
            )
        queue.extendleft(reversed(rest))
        outcomes: list[Outcome] = []
        if running is not None:
            self.tries[running] = self.tries.get(running, 0) + 1
            self.log(f"mini-batch {running}: {reason} in worker {worker.id}")
            outcomes = self._failed(running, items, reason, True, queue, worker.id)
        if len(self.workers) < self.size and (queue or outcomes):
            self._spawn()
        return outcomes


def worker_env(extra: dict[str, str]) -> dict[str, str]:
    """The driver's environment plus the step's; the worker finds modelport on its path."""
    env = {**os.environ, **extra}
    src = str(Path(__file__).resolve().parents[2])
    # an environment built without modelport (user-managed) still runs our worker module
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.pop("PYTHONSAFEPATH", None)
    return env


def current_python() -> str:
    return sys.executable
