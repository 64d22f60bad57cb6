"""Shadow traffic: copies of live requests sent to shadow versions after the caller has its
answer, through a bounded queue (a full queue drops the copy and counts it), compared with
the primary's answer and written to a rotated JSON-lines sink.

Nothing here runs on the caller's path except `offer`, which never waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.routing.metrics import RouterMetrics
from modelport.routing.table import Upstream
from modelport.routing.upstream import Upstreams


@dataclass
class ShadowJob:
    shadow: Upstream
    method: str
    target: str  # path and query
    headers: list[tuple[bytes, bytes]]
    body: bytes
    request_id: str
    primary: str
    primary_status: int
    primary_ms: float
    primary_body: bytes


class PairSink:
    """JSON lines, one shadowed pair a line; rotated at `max_bytes` keeping `backups` files
    (`shadow.jsonl.1` is the newest old one)."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open, closed in close()

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()
        if self._file.tell() >= self.max_bytes:
            self._rotate()

    def _rotate(self) -> None:
        self._file.close()
        for i in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{i + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        self._file.close()


class ShadowCopier:
    def __init__(
        self,
        client: Upstreams,
        metrics: RouterMetrics,
        queue_size: int,
        workers: int,
        sink: PairSink | None,
    ) -> None:
        self.client, self.metrics, self.sink = client, metrics, sink
        self.queue: asyncio.Queue[ShadowJob] = asyncio.Queue(maxsize=max(1, queue_size))
        self.tasks = [asyncio.ensure_future(self._work()) for _ in range(max(1, workers))]

    def offer(self, job: ShadowJob) -> None:
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            self.metrics.dropped(job.shadow.name)

    async def _work(self) -> None:
        while True:
            job = await self.queue.get()
            try:
                await self._copy(job)
            except Exception:  # a shadow never takes the router down
                self.metrics.shadow_errors[job.shadow.name] += 1
            finally:
                self.queue.task_done()

    async def _copy(self, job: ShadowJob) -> None:
        headers = list(job.headers)
        if job.shadow.authorization:
            headers.append((b"authorization", job.shadow.authorization.encode()))
        started = time.perf_counter()
        try:
            status, _, body = await self.client.request(
                job.shadow.url, job.method, job.target, headers, job.body
            )
        except Exception:
            status, body = 0, b""
        seconds = time.perf_counter() - started
        equal = status == job.primary_status and _same(body, job.primary_body)
        self.metrics.shadowed(job.shadow.name, status, seconds, equal)
        if self.sink is not None:
            self.sink.write(
                {
                    "time": time.time(),
                    "request_id": job.request_id,
                    "primary": job.primary,
                    "primary_status": job.primary_status,
                    "primary_ms": round(job.primary_ms, 3),
                    "shadow": job.shadow.name,
                    "shadow_status": status,
                    "shadow_ms": round(seconds * 1000, 3),
                    "equal": equal,
                }
            )

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.sink is not None:
            self.sink.close()


def read_pairs(sink: Path) -> list[dict[str, Any]]:
    """Every pair in a sink, oldest first (its rotated files included); a line cut by a
    crash is skipped."""
    files = [*sorted(sink.parent.glob(sink.name + ".*"), reverse=True), sink]
    pairs = []
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                pairs.append(json.loads(line))
            except ValueError:
                continue
    return pairs


def _same(a: bytes, b: bytes) -> bool:
    """Equal bodies: byte for byte, or the same JSON value (key order and spacing aside)."""
    if a == b:
        return True
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False
