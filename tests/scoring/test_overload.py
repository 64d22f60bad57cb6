"""Timeouts, bounded queues, worker restarts, graceful shutdown."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx


def test_timeout_answers_on_time(server_factory):
    server = server_factory("failing_run.py", "--scoring-timeout-ms", "300")
    began = time.monotonic()
    r = server.client.post("/score", content=json.dumps({"sleep": 4}))
    # answered at the deadline, not when run() returns (no fixed speed asked of the machine)
    assert 0.3 <= time.monotonic() - began < 4
    assert r.status_code == 500
    assert r.json() == {"message": "Scoring timeout after 300 ms"}
    assert r.headers["x-ms-run-function-failed"] == "True"
    # the worker recovers once the interrupted call ends
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ok = server.client.post("/score", content='{"v": 1}')
        if ok.status_code == 200:
            break
    assert ok.json() == {"v": 1}


def test_async_timeout(server_factory):
    server = server_factory("async_run.py", env={"SCORING_TIMEOUT_MS": "200"})
    r = server.client.post("/score", content='{"sleep": 2}')
    assert r.status_code == 500 and r.json() == {"message": "Scoring timeout after 200 ms"}


def test_full_queue_is_503_never_a_hang(server_factory):
    server = server_factory(
        "failing_run.py",
        "--max-concurrent-requests-per-container",
        "2",
        "--max-request-wait-time",
        "400",
    )

    def call(_: int) -> tuple[int, float]:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            began = time.monotonic()
            code = c.post("/score", content=json.dumps({"sleep": 2})).status_code
            return code, time.monotonic() - began

    # a slow run() first: later ones run off the event loop, which then admits and refuses
    # while they run (the very first one runs inline and holds the loop; see runner.py)
    assert server.client.post("/score", content=json.dumps({"sleep": 0.3})).status_code == 200
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(call, range(6)))
    codes = sorted(code for code, _ in answers)
    # a refusal never waits for a run() to finish (each takes 2 s): no hang, no queueing
    assert all(took < 2 for code, took in answers if code == 503), answers
    assert codes.count(200) >= 1 and codes.count(503) >= 3, codes
    assert set(codes) <= {200, 503}
    metrics = server.client.get("/metrics").text
    rejected = [
        line for line in metrics.splitlines() if line.startswith("modelport_rejected_total")
    ]
    assert float(rejected[0].split()[-1]) >= 3


def test_crashed_worker_is_restarted(server_factory):
    server = server_factory("crashy.py", fresh=True)
    try:
        first = server.client.post("/score", content="hi").json()["pid"]
        with contextlib.suppress(httpx.TransportError):
            server.client.post("/score", content="crash")
        server.wait_ready(timeout=30)
        deadline = time.monotonic() + 30
        pid = first
        while time.monotonic() < deadline and pid == first:
            r = server.client.post("/score", content="hi")
            pid = r.json()["pid"]
        assert pid != first
        text = server.client.get("/metrics").text
        assert "modelport_worker_restarts_total 1" in text
    finally:
        assert server.stop() == 0


def _metric(text: str, name: str) -> float:
    return float(next(line for line in text.splitlines() if line.startswith(name + " ")).split()[1])


def test_sigterm_drains_in_flight_requests(server_factory):
    """After SIGTERM the worker stops taking a share of new connections but still answers the
    request in flight and requests on connections it already holds, asking them to close."""
    server = server_factory("failing_run.py", fresh=True)
    slow = httpx.Client(base_url=server.url, timeout=30)
    held = httpx.Client(base_url=server.url, timeout=5)  # a keep-alive connection opened before
    probe = httpx.Client(base_url=server.url, timeout=5)
    with slow, held, probe, ThreadPoolExecutor(1) as pool:
        assert held.get("/").status_code == 200 and "connection" not in held.get("/").headers
        # one slow call first: a slow run() moves off the event loop (runner.py), which then
        # answers /metrics while the next one runs
        assert slow.post("/score", content=json.dumps({"sleep": 0.3})).status_code == 200
        pending = pool.submit(slow.post, "/score", content=json.dumps({"sleep": 1.5}))
        deadline = time.monotonic() + 10
        while _metric(probe.get("/metrics").text, "modelport_requests_in_flight") != 1:
            assert time.monotonic() < deadline and not pending.done(), "never in flight"
        server.proc.send_signal(signal.SIGTERM)
        while True:  # the probe's connection is answered until the drain starts, then closed
            metrics = probe.get("/metrics")
            if metrics.headers.get("connection") == "close":
                break
            assert time.monotonic() < deadline, "the drain never started"
        assert _metric(metrics.text, "modelport_workers_ready") == 0
        assert not pending.done()  # the drain began with the request still running
        late = held.post("/score", content='{"late": 1}')
        assert late.status_code == 200 and late.json() == {"late": 1}
        assert late.headers["connection"] == "close"
        answer = pending.result()
        assert answer.status_code == 200 and answer.json() == "slept"
        assert answer.headers["connection"] == "close"
    assert server.stop() == 0
