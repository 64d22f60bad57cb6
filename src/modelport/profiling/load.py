"""The load generator: replays request bodies at a fixed concurrency for a fixed time.

It runs an asyncio event loop with one keep-alive httpx client; `concurrency` coroutines each
send the next body (cycling through the dataset) as soon as their previous answer arrives, so
the service always has exactly `concurrency` requests in flight (a closed-loop load).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from modelport.profiling.inputs import Request

MAX_ERROR_SAMPLES = 5


@dataclass
class ErrorSample:
    where: str  # 'line 57'
    status: int | None  # HTTP status, None for a transport error
    message: str

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no answer"
        return f"{self.where}: {status}: {self.message}"


@dataclass
class StepLoad:
    """What one concurrency step saw from the client's side."""

    concurrency: int
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # successful requests only
    errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    error_samples: list[ErrorSample] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    def record_error(self, sample: ErrorSample) -> None:
        self.errors += 1
        self.statuses[str(sample.status or "transport")] += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(sample)


def run_step(
    url: str,
    requests: Sequence[Request],
    concurrency: int,
    duration_s: float,
    headers: dict[str, str],
    cancel: threading.Event,
    start_index: int = 0,
    timeout_s: float = 60.0,
) -> StepLoad:
    """Keep `concurrency` requests in flight for `duration_s` seconds (or until cancelled)."""
    return asyncio.run(
        _run(url, requests, concurrency, duration_s, headers, cancel, start_index, timeout_s)
    )


async def _run(
    url: str,
    requests: Sequence[Request],
    concurrency: int,
    duration_s: float,
    headers: dict[str, str],
    cancel: threading.Event,
    start_index: int,
    timeout_s: float,
) -> StepLoad:
    result = StepLoad(concurrency)
    counter = itertools.count(start_index)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=timeout_s, headers=headers) as client:
        started = time.perf_counter()
        deadline = started + duration_s

        async def user() -> None:
            while time.perf_counter() < deadline and not cancel.is_set():
                request = requests[next(counter) % len(requests)]
                t0 = time.perf_counter()
                try:
                    response = await client.post(url, content=request.body)
                except httpx.HTTPError as exc:
                    result.record_error(ErrorSample(request.where, None, _short(repr(exc))))
                    continue
                if response.status_code < 400:
                    result.latencies_ms.append((time.perf_counter() - t0) * 1000.0)
                    result.statuses[str(response.status_code)] += 1
                else:
                    result.record_error(
                        ErrorSample(request.where, response.status_code, error_message(response))
                    )

        await asyncio.gather(*(user() for _ in range(concurrency)))
        result.elapsed_s = time.perf_counter() - started
    return result


def error_message(response: httpx.Response) -> str:
    """The service's message: the `message` of modelport's JSON error shape, else the text."""
    try:
        payload = response.json()
    except ValueError:
        return _short(response.text)
    if isinstance(payload, dict) and "message" in payload:
        return _short(str(payload["message"]))
    return _short(response.text)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
