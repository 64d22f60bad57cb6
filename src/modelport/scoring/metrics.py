"""Prometheus metrics kept in a small shared-memory file, one slot per worker process.

Each worker writes only its own slot (no locks); `/metrics` in any worker sums every slot, so
the numbers are for the whole server whichever worker answers. The header holds readiness.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from bisect import bisect_left
from typing import Any

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ROUTES = ("score", "v2_infer", "other")
CLASSES = ("2xx", "4xx", "5xx", "other")

# header (float64 cells)
H_READY, H_RESTARTS, H_WORKERS = 0, 1, 2
HEADER = 8
# worker slot
S_REQUESTS = 0  # len(ROUTES) * len(CLASSES) cells
S_RUN_ERRORS = 12
S_TIMEOUTS = 13
S_REJECTED = 14
S_IN_FLIGHT = 15
S_QUEUE = 16
S_READY = 17
S_HIST = 18  # len(BUCKETS) + 1 cells (last = +Inf), not cumulative
S_SUM = S_HIST + len(BUCKETS) + 1
S_COUNT = S_SUM + 1
S_CONNECTIONS = S_COUNT + 1  # open connections (for balancing accepts)
S_BATCHES = S_CONNECTIONS + 1  # predict calls of the no-code runtimes' micro-batcher
S_BATCHED = S_BATCHES + 1  # requests those calls answered
SLOT = 40

# This process's worker slot, for code the worker runs that has no app at hand (the no-code
# runtimes' batcher); None outside a scoring worker.
_worker_slot: WorkerMetrics | None = None


def set_worker_slot(slot: WorkerMetrics | None) -> None:
    global _worker_slot
    _worker_slot = slot


def worker_slot() -> WorkerMetrics | None:
    return _worker_slot


class SharedState:
    """The mapped file: readiness flags and every worker's counters."""

    def __init__(self, buffer: mmap.mmap, workers: int) -> None:
        self._mm = buffer
        self.cells: Any = memoryview(buffer).cast("d")
        self.workers = workers

    @classmethod
    def create(cls, workers: int) -> tuple[SharedState, str]:
        """A new zeroed file (in /dev/shm when there is one) for the supervisor."""
        folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, path = tempfile.mkstemp(prefix="modelport-scoring-", dir=folder)
        size = 8 * (HEADER + SLOT * workers)
        os.ftruncate(fd, size)
        buffer = mmap.mmap(fd, size)
        os.close(fd)
        state = cls(buffer, workers)
        state.cells[H_WORKERS] = workers
        return state, path

    @classmethod
    def attach(cls, path: str, workers: int) -> SharedState:
        with open(path, "r+b") as f:
            buffer = mmap.mmap(f.fileno(), 8 * (HEADER + SLOT * workers))
        return cls(buffer, workers)

    @classmethod
    def in_memory(cls, workers: int = 1) -> SharedState:
        return cls(mmap.mmap(-1, 8 * (HEADER + SLOT * workers)), workers)

    @property
    def ready(self) -> bool:
        return self.cells[H_READY] > 0

    def set_ready(self, value: bool) -> None:
        self.cells[H_READY] = 1.0 if value else 0.0

    def add_restart(self) -> None:
        self.cells[H_RESTARTS] += 1

    def slot(self, index: int) -> WorkerMetrics:
        return WorkerMetrics(self.cells, HEADER + SLOT * index)

    def reset_slot_gauges(self, index: int) -> None:
        base = HEADER + SLOT * index
        for cell in (S_IN_FLIGHT, S_QUEUE, S_READY, S_CONNECTIONS):
            self.cells[base + cell] = 0.0

    def close(self) -> None:
        self.cells.release()
        self._mm.close()

    def render(self) -> bytes:
        """The Prometheus text exposition of all slots."""
        c = self.cells
        bases = [HEADER + SLOT * i for i in range(self.workers)]

        def total(cell: int) -> float:
            return sum(c[b + cell] for b in bases)

        out: list[str] = [
            "# HELP modelport_requests_total HTTP requests answered, by route and status class.",
            "# TYPE modelport_requests_total counter",
        ]
        for r, route in enumerate(ROUTES):
            for k, klass in enumerate(CLASSES):
                value = total(S_REQUESTS + r * len(CLASSES) + k)
                out.append(f'modelport_requests_total{{route="{route}",code="{klass}"}} {value:g}')
        out += [
            "# HELP modelport_request_duration_seconds Time to answer /score and V2 infer.",
            "# TYPE modelport_request_duration_seconds histogram",
        ]
        running = 0.0
        for i, bound in enumerate((*BUCKETS, float("inf"))):
            running += total(S_HIST + i)
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            out.append(f'modelport_request_duration_seconds_bucket{{le="{le}"}} {running:g}')
        out.append(f"modelport_request_duration_seconds_sum {total(S_SUM):.6f}")
        out.append(f"modelport_request_duration_seconds_count {total(S_COUNT):g}")
        for name, cell, kind, help_ in (
            ("run_errors_total", S_RUN_ERRORS, "counter", "run() raised an exception."),
            ("run_timeouts_total", S_TIMEOUTS, "counter", "run() exceeded the scoring timeout."),
            ("rejected_total", S_REJECTED, "counter", "Requests refused with 503 (queue full)."),
            ("requests_in_flight", S_IN_FLIGHT, "gauge", "Scoring requests being handled."),
            ("queue_depth", S_QUEUE, "gauge", "Scoring requests waiting for run()."),
            ("workers_ready", S_READY, "gauge", "Worker processes that finished init()."),
            ("open_connections", S_CONNECTIONS, "gauge", "Client connections the workers hold."),
            ("batches_total", S_BATCHES, "counter", "predict calls made by the micro-batcher."),
            (
                "batched_requests_total",
                S_BATCHED,
                "counter",
                "Requests in those calls (over batches_total: the mean batch size).",
            ),
        ):
            out += [f"# HELP modelport_{name} {help_}", f"# TYPE modelport_{name} {kind}"]
            out.append(f"modelport_{name} {total(cell):g}")
        out += [
            "# HELP modelport_worker_restarts_total Worker processes restarted after a crash.",
            "# TYPE modelport_worker_restarts_total counter",
            f"modelport_worker_restarts_total {c[H_RESTARTS]:g}",
            "# HELP modelport_ready 1 when every worker finished init().",
            "# TYPE modelport_ready gauge",
            f"modelport_ready {c[H_READY]:g}",
        ]
        return ("\n".join(out) + "\n").encode()


class WorkerMetrics:
    """One worker's slot; every method is a few float additions."""

    __slots__ = ("base", "cells")

    def __init__(self, cells: Any, base: int) -> None:
        self.cells = cells
        self.base = base

    def observe(self, route: int, status: int, seconds: float | None) -> None:
        klass = (
            0 if 200 <= status < 300 else 1 if 400 <= status < 500 else 2 if status >= 500 else 3
        )
        c, b = self.cells, self.base
        c[b + route * 4 + klass] += 1
        if seconds is not None:
            c[b + S_HIST + bisect_left(BUCKETS, seconds)] += 1
            c[b + S_SUM] += seconds
            c[b + S_COUNT] += 1

    def add(self, cell: int, amount: float = 1.0) -> None:
        self.cells[self.base + cell] += amount

    def set(self, cell: int, value: float) -> None:
        self.cells[self.base + cell] = value
