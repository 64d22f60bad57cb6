"""Adaptive micro-batching for the built-in runtimes: concurrent requests, one predict call.

Requests that arrive within `max_wait_ms` of the first waiting one (or until `max_size` rows
are waiting) are handed to `predict` together on one worker thread; each caller gets back its
own result. While a batch runs, the next one fills up, so batches grow with the load. Off by
default; a deployment turns it on with `batch_environment(...)` in its environment variables.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from modelport import settings
from modelport.errors import InvalidArgument

log = logging.getLogger("modelport.runtimes")

MAX_SIZE_VAR = "MODELPORT_BATCH_MAX_SIZE"
MAX_WAIT_VAR = "MODELPORT_BATCH_MAX_WAIT_MS"
DEFAULT_MAX_SIZE = 64
DEFAULT_MAX_WAIT_MS = 5.0

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class BatchSettings:
    max_size: int
    max_wait_ms: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BatchSettings | None:
        """The settings a deployment asked for, or None when batching is off (the default)."""
        size = settings.get(MAX_SIZE_VAR, environ)
        wait = settings.get(MAX_WAIT_VAR, environ)
        if size is None and wait is None:
            return None
        batch = cls(
            max_size=DEFAULT_MAX_SIZE if size is None else size,
            max_wait_ms=DEFAULT_MAX_WAIT_MS if wait is None else wait,
        )
        if batch.max_size < 1 or batch.max_wait_ms < 0:
            raise InvalidArgument(
                f"{MAX_SIZE_VAR} must be at least 1 and {MAX_WAIT_VAR} at least 0, got "
                f"{batch.max_size} and {batch.max_wait_ms}."
            )
        return batch


def batch_environment(
    max_batch_size: int = DEFAULT_MAX_SIZE, max_wait_ms: float = DEFAULT_MAX_WAIT_MS
) -> dict[str, str]:
    """Environment variables that turn batching on for a no-code deployment.

    >>> LocalWebservice.deploy_configuration(environment_variables=batch_environment(64, 5))
    """
    settings = BatchSettings.from_env(
        {MAX_SIZE_VAR: str(max_batch_size), MAX_WAIT_VAR: str(max_wait_ms)}
    )
    assert settings is not None
    return {MAX_SIZE_VAR: str(settings.max_size), MAX_WAIT_VAR: str(settings.max_wait_ms)}


class _Entry:
    __slots__ = ("arrived", "future", "item", "key", "rows")

    def __init__(
        self, key: Hashable, item: Any, rows: int, future: asyncio.Future[Any], now: float
    ):
        self.key = key
        self.item = item
        self.rows = rows
        self.future = future
        self.arrived = now


class MicroBatcher(Generic[T, R]):
    """Merges concurrent `submit` calls with the same key into one `predict(key, items)` call.

    `predict` returns one result per item, in order. If it raises for a batch, every item is
    retried alone, so a bad request fails only its own caller, as without batching.
    `observe(n)` (if given) is called on the event loop for each batch of n requests.
    """

    def __init__(
        self,
        predict: Callable[[Hashable, Sequence[T]], Sequence[R]],
        rows: Callable[[T], int],
        settings: BatchSettings,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self._predict = predict
        self._observe = observe
        self._rows_of = rows
        self.max_size = settings.max_size
        self.max_wait_s = settings.max_wait_ms / 1000.0
        self._pending: deque[_Entry] = deque()
        self._rows = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="modelport-batch")

    async def submit(self, key: Hashable, item: T) -> R:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._drain())
        assert self._wake is not None
        entry = _Entry(key, item, self._rows_of(item), loop.create_future(), loop.time())
        self._pending.append(entry)
        self._rows += entry.rows
        self._wake.set()
        result: R = await entry.future
        return result

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._gather(loop)
                batch = self._take()
                if batch:
                    await self._run(loop, batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug here must not leave callers hanging
                log.exception("the micro-batcher failed")
                while self._pending:
                    self._settle(self._pending.popleft(), False, exc)
                self._rows = 0

    async def _gather(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait for a first request, then until the batch is full or its wait is over."""
        wake = self._wake
        assert wake is not None
        while not self._pending:
            wake.clear()
            await wake.wait()
        deadline = self._pending[0].arrived + self.max_wait_s
        if self._rows >= self.max_size or loop.time() >= deadline:
            return
        # The timer says when the wait is over; comparing loop.time() with the deadline instead
        # would hang: uvloop fires timers up to a millisecond early, and a wait that resumes
        # just before its deadline would sleep again with no timer left to wake it.
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            wake.set()

        timer = loop.call_at(deadline, expire)
        try:
            while self._rows < self.max_size and not expired:
                wake.clear()
                await wake.wait()
        finally:
            timer.cancel()

    def _take(self) -> list[_Entry]:
        """The oldest waiting requests sharing the first one's key, up to max_size rows."""
        batch: list[_Entry] = []
        keep: deque[_Entry] = deque()
        rows = 0
        while self._pending:
            entry = self._pending.popleft()
            if entry.future.done():  # its caller gave up (timeout) before it ran
                self._rows -= entry.rows
            elif batch and (entry.key != batch[0].key or rows + entry.rows > self.max_size):
                keep.append(entry)
            else:
                batch.append(entry)
                rows += entry.rows
                self._rows -= entry.rows
        self._pending = keep
        return batch

    async def _run(self, loop: asyncio.AbstractEventLoop, batch: list[_Entry]) -> None:
        items = [e.item for e in batch]
        if self._observe is not None:
            self._observe(len(items))
        outcomes = await loop.run_in_executor(self._executor, self._call, batch[0].key, items)
        for entry, (ok, value) in zip(batch, outcomes, strict=True):
            self._settle(entry, ok, value)

    def _call(self, key: Hashable, items: list[T]) -> list[tuple[bool, Any]]:
        try:
            results = self._predict(key, items)
        except Exception as exc:
            if len(items) == 1:
                return [(False, exc)]
            return [self._call(key, [item])[0] for item in items]
        if len(results) != len(items):
            raise RuntimeError(f"predict returned {len(results)} results for {len(items)} requests")
        return [(True, r) for r in results]

    @staticmethod
    def _settle(entry: _Entry, ok: bool, value: Any) -> None:
        if entry.future.done():
            return
        if ok:
            entry.future.set_result(value)
        else:
            entry.future.set_exception(value)
