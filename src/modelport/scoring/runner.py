"""Calling run(): adaptively inline or on a thread for sync scripts; awaited for `async def`.

A sync run() that returns within a couple of milliseconds runs inline on the worker's event
loop, as the reference's gunicorn sync worker runs it on its main thread: handing each call
to a thread costs two wake-ups, more than a light model's predict (and far more on a busy
machine), and blocking the loop for ~1 ms delays nothing that matters. A slower run() moves
to a dedicated thread, so the loop stays free to answer health checks and to admit, queue and
refuse (503) requests exactly. Calls never overlap: the mode changes only when none is in
flight. Inline, the scoring timeout is a SIGALRM (as in the reference): it interrupts Python
code at the next bytecode and blocking waits at once; on the thread it is an asynchronous
exception. A run() stuck in C beyond either is the worker's watchdog's business.
"""

from __future__ import annotations

import asyncio
import ctypes
import inspect
import logging
import queue
import signal
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


class ScoringTimeout(BaseException):
    """Raised inside run() by the scoring timeout's alarm (a BaseException, so a script's
    `except Exception` cannot swallow it)."""


_MISSING = object()
INLINE_UP_TO_S = 0.002  # run() on the loop while it averages under this
_SMOOTHING = 0.2
_NESTED_LOOP = ("cannot be called from a running event loop", "already running")


class SyncRunner:
    """Runs a sync run() one call at a time: inline while it is fast, on a thread when not."""

    def __init__(self, fn: Callable[..., Any], timeout_s: float, max_wait_s: float) -> None:
        self.fn = fn
        self.timeout_s = timeout_s
        self.max_wait_s = max_wait_s
        self.thread = ThreadRunner(fn, timeout_s, max_wait_s)
        # moving average of run() durations. Calls start inline, as in the reference (whose
        # SIGALRM also ends a first call's blocking wait); a slow first call blocks this
        # worker's loop once, then the script runs on the thread.
        self.recent_s = 0.0
        self.inline = True
        self.own_loop = False  # run() starts an event loop itself: never inline
        self._entered = 0  # calls inside call() now (inline ones never overlap)
        self._started: float | None = None
        self._armed = False
        signal.signal(signal.SIGALRM, self._alarm)

    @property
    def waiting(self) -> int:
        return self.thread.waiting

    def _alarm(self, signum: int, frame: Any) -> None:
        if self._armed:
            self._armed = False
            raise ScoringTimeout

    async def call(self, kwargs: dict[str, Any]) -> Outcome:
        self._entered += 1
        try:
            return await self._call(kwargs)
        finally:
            self._entered -= 1

    async def _call(self, kwargs: dict[str, Any]) -> Outcome:
        if self.thread.busy:  # keep calls in order and on one thread at a time
            inline = False
        elif self.inline:
            inline = self.recent_s <= INLINE_UP_TO_S and not self.own_loop
        else:
            inline = self.recent_s < INLINE_UP_TO_S / 2 and not self.own_loop
        if inline:
            # One turn of the loop: requests that arrived with this one enter meanwhile. With
            # others waiting, the thread wins (the loop parses and answers them while run()
            # computes); alone, inline does (no hand-off).
            await asyncio.sleep(0)
            inline = self._entered == 1 and not self.thread.busy
        self.inline = inline
        if not inline:
            outcome = await self.thread.call(kwargs)
        else:
            outcome = self._run_inline(kwargs)
            if outcome.kind == ERROR and _runs_own_loop(outcome.value):
                log.warning(
                    "run() starts an event loop of its own; it runs on a thread from now on"
                )
                self.own_loop = True
                return await self.thread.call(kwargs)
            if outcome.kind == OK and inspect.isawaitable(outcome.value):
                outcome = await self._finish(outcome.value)
        if outcome.kind in (OK, ERROR, TIMEOUT):
            self.recent_s += (outcome.elapsed_ms / 1000 - self.recent_s) * _SMOOTHING
        return outcome

    def _run_inline(self, kwargs: dict[str, Any]) -> Outcome:
        value: Any = _MISSING
        start = self._started = perf_counter()
        try:
            try:
                self._armed = True
                signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
                value = self.fn(**kwargs)
            finally:
                self._armed = False
                signal.setitimer(signal.ITIMER_REAL, 0)
                self._started = None
        except ScoringTimeout:
            if value is _MISSING:
                return Outcome(TIMEOUT, None, (perf_counter() - start) * 1000)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            return Outcome(ERROR, exc, (perf_counter() - start) * 1000)
        return Outcome(OK, value, (perf_counter() - start) * 1000)

    async def _finish(self, awaitable: Any) -> Outcome:
        return await _awaited(awaitable, self.timeout_s)

    def overrun_s(self) -> float:
        """How long the running call has gone on past the scoring timeout (0 if none has);
        read by the watchdog thread, also while the loop is blocked in an inline run()."""
        started = self._started
        if started is None:
            return self.thread.overrun_s()
        return max(0.0, perf_counter() - started - self.timeout_s)

    def reject_waiting(self) -> None:
        self.thread.reject_waiting()

    def close(self) -> None:
        self.thread.close()


def _runs_own_loop(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and any(text in str(exc) for text in _NESTED_LOOP)


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

    @property
    def busy(self) -> bool:
        """A call is running or queued here."""
        return self._current is not None or self.waiting > 0

    def overrun_s(self) -> float:
        """How long the running call has gone on past the scoring timeout (0 if none has).

        The timeout's interrupt reaches Python code at its next bytecode; a run() blocked in C
        (a lock, a socket, a sleep) ignores it, and only replacing the worker frees it.
        """
        job = self._current
        if job is None or job.started is None:
            return 0.0
        return max(0.0, perf_counter() - job.started - self.timeout_s)

    def reject_waiting(self) -> None:
        """Answer every call still queued behind a stuck run() (503: retry elsewhere)."""
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is None:
                continue
            job.abandoned = True
            _resolve(job.future, Outcome(EXPIRED, perf_counter() - job.enqueued, 0.0))

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


async def _awaited(awaitable: Any, timeout_s: float) -> Outcome:
    """Await run()'s coroutine (or the awaitable a sync run() returned) within the timeout."""
    start = perf_counter()
    try:
        value = await asyncio.wait_for(_await(awaitable), timeout_s)
    except TimeoutError:
        return Outcome(TIMEOUT, None, (perf_counter() - start) * 1000)
    except Exception as exc:
        return Outcome(ERROR, exc, (perf_counter() - start) * 1000)
    return Outcome(OK, value, (perf_counter() - start) * 1000)


class AsyncRunner:
    """Awaits `async def run` on the event loop; concurrency is bounded by the app's queue limit."""

    def __init__(self, fn: Callable[..., Any], timeout_s: float, max_wait_s: float) -> None:
        self.fn = fn
        self.timeout_s = timeout_s
        self.waiting = 0

    async def call(self, kwargs: dict[str, Any]) -> Outcome:
        return await _awaited(self.fn(**kwargs), self.timeout_s)

    def overrun_s(self) -> float:
        return 0.0  # wait_for cancels an overrunning coroutine on the loop itself

    def reject_waiting(self) -> None:
        pass

    def close(self) -> None:
        pass


Runner = SyncRunner | ThreadRunner | AsyncRunner


def make_runner(
    fn: Callable[..., Any], is_async: bool, timeout_s: float, max_wait_s: float
) -> Runner:
    if is_async:
        return AsyncRunner(fn, timeout_s, max_wait_s)
    if threading.current_thread() is threading.main_thread():
        return SyncRunner(fn, timeout_s, max_wait_s)
    return ThreadRunner(fn, timeout_s, max_wait_s)  # signals reach the main thread only
