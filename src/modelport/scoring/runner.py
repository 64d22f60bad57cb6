"""Calling run(): a dedicated thread for sync scripts, the event loop for `async def run`.

Both enforce the scoring timeout and the maximum wait before run() starts, and answer on
time even when run() does not return (the thread is then interrupted like the reference's
SIGALRM does, at the next Python bytecode).
"""

from __future__ import annotations

import asyncio
import ctypes
import inspect
import logging
import queue
import threading
from collections.abc import Callable
from time import perf_counter
from typing import Any

log = logging.getLogger("modelport.scoring")

OK, ERROR, TIMEOUT, EXPIRED = 0, 1, 2, 3


class Outcome:
    __slots__ = ("elapsed_ms", "kind", "value")

    def __init__(self, kind: int, value: Any, elapsed_ms: float) -> None:
        self.kind = kind
        self.value = value
        self.elapsed_ms = elapsed_ms


class _Job:
    __slots__ = ("abandoned", "enqueued", "future", "handle", "kwargs", "started")

    def __init__(self, future: asyncio.Future[Outcome], kwargs: dict[str, Any]) -> None:
        self.future = future
        self.kwargs = kwargs
        self.enqueued = perf_counter()
        self.started: float | None = None
        self.abandoned = False
        self.handle: asyncio.TimerHandle | None = None


class ThreadRunner:
    """Runs a sync run() on one thread, in arrival order, like a single gunicorn sync worker."""

    def __init__(self, fn: Callable[..., Any], timeout_s: float, max_wait_s: float) -> None:
        self.fn = fn
        self.timeout_s = timeout_s
        self.max_wait_s = max_wait_s
        self.waiting = 0
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._current: _Job | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._work, name="modelport-run", daemon=True)

    async def call(self, kwargs: dict[str, Any]) -> Outcome:
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
            self._thread.start()
        job = _Job(loop.create_future(), kwargs)
        self.waiting += 1
        self._queue.put(job)
        job.handle = loop.call_later(min(self.max_wait_s, self.timeout_s), self._check, job)
        try:
            return await job.future
        finally:
            if job.started is None:
                self.waiting -= 1
                job.abandoned = True
            job.handle.cancel()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)

    def _check(self, job: _Job) -> None:
        if job.future.done():
            return
        assert self._loop is not None
        now = perf_counter()
        if job.started is None:
            waited = now - job.enqueued
            if waited >= self.max_wait_s:
                job.abandoned = True
                job.future.set_result(Outcome(EXPIRED, waited, 0.0))
                return
            job.handle = self._loop.call_later(self.max_wait_s - waited, self._check, job)
            return
        running = now - job.started
        if running >= self.timeout_s:
            job.future.set_result(Outcome(TIMEOUT, None, running * 1000))
            if self._current is job and self._thread.ident is not None:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self._thread.ident), ctypes.py_object(TimeoutError)
                )
            return
        job.handle = self._loop.call_later(self.timeout_s - running, self._check, job)

    def _work(self) -> None:
        while True:
            job = None  # hold no request (its input, its result) while waiting for the next
            try:
                job = self._queue.get()
                if job is None:
                    return
                if job.abandoned:
                    continue
                self._run(job)
            except TimeoutError:  # a late interrupt aimed at a job that already finished
                continue

    def _run(self, job: _Job) -> None:
        self._current = job
        start = job.started = perf_counter()
        self.waiting -= 1
        try:
            value = self.fn(**job.kwargs)
            if inspect.isawaitable(value):
                value = asyncio.run(_await(value))
            kind = OK
        except BaseException as exc:
            value, kind = exc, ERROR
        finally:
            self._current = None
        elapsed = (perf_counter() - start) * 1000
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_resolve, job.future, Outcome(kind, value, elapsed))


def _resolve(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)


async def _await(awaitable: Any) -> Any:
    return await awaitable


class AsyncRunner:
    """Awaits `async def run` on the event loop; concurrency is bounded by the app's queue limit."""

    def __init__(self, fn: Callable[..., Any], timeout_s: float, max_wait_s: float) -> None:
        self.fn = fn
        self.timeout_s = timeout_s
        self.waiting = 0

    async def call(self, kwargs: dict[str, Any]) -> Outcome:
        start = perf_counter()
        try:
            value = await asyncio.wait_for(self.fn(**kwargs), self.timeout_s)
        except TimeoutError:
            return Outcome(TIMEOUT, None, (perf_counter() - start) * 1000)
        except Exception as exc:
            return Outcome(ERROR, exc, (perf_counter() - start) * 1000)
        return Outcome(OK, value, (perf_counter() - start) * 1000)

    def close(self) -> None:
        pass


Runner = ThreadRunner | AsyncRunner


def make_runner(
    fn: Callable[..., Any], is_async: bool, timeout_s: float, max_wait_s: float
) -> Runner:
    cls = AsyncRunner if is_async else ThreadRunner
    return cls(fn, timeout_s, max_wait_s)
