"""Samples a service's whole process tree (CPU cores and resident memory) in a thread.

The service is a supervisor with descendants (scoring supervisor, workers, restarted workers),
so each sample walks the tree again; per-process `cpu_percent` needs the same `Process` object
across samples, hence the cache.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Sample:
    t: float  # monotonic seconds
    cores: float  # CPU used since the previous sample, in cores (1.0 = one core busy)
    rss_bytes: int  # resident memory of the whole tree
    label: int | None  # the concurrency step running, None while idle
    client_cores: float = 0.0  # this (profiling) process: near 1.0, the load generator is the limit


class TreeSampler:
    """`with TreeSampler(pid) as s: s.label = 4; ...`; then read `s.samples`."""

    def __init__(self, root_pid: int, interval_s: float = 0.1) -> None:
        self.root = psutil.Process(root_pid)
        self.interval_s = interval_s
        self.label: int | None = None
        self.samples: list[Sample] = []
        self._procs: dict[int, psutil.Process] = {}
        self._me = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="modelport-sampler", daemon=True)

    def __enter__(self) -> TreeSampler:
        self._measure()  # primes cpu_percent for every process already running
        self._me.cpu_percent(None)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            measured = self._measure()
            if measured is not None:
                client = self._me.cpu_percent(None) / 100.0
                self.samples.append(Sample(time.monotonic(), *measured, self.label, client))

    def _measure(self) -> tuple[float, int] | None:
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return None
        cores, rss, alive = 0.0, 0, {}
        for proc in tree:
            cached = self._procs.get(proc.pid, proc)
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                with cached.oneshot():
                    percent = cached.cpu_percent(None)  # 0.0 on the first call for a new pid
                    rss += cached.memory_info().rss
                cores += percent / 100.0
                alive[proc.pid] = cached
        self._procs = alive
        return cores, rss
