"""Timeouts, bounded queues, worker restarts, graceful shutdown."""

from __future__ import annotations

import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx


def test_timeout_answers_on_time(server_factory):
    server = server_factory("failing_run.py", "--scoring-timeout-ms", "300")
    began = time.monotonic()
    r = server.client.post("/score", content=json.dumps({"sleep": 1.5}))
    assert time.monotonic() - began < 1.4
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

    def call(_: int) -> int:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            return c.post("/score", content=json.dumps({"sleep": 0.8})).status_code

    began = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(call, range(6)))
    assert time.monotonic() - began < 5
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


def test_sigterm_drains_in_flight_requests(server_factory):
    server = server_factory("failing_run.py", fresh=True)
    own = httpx.Client(base_url=server.url, timeout=30)
    with own, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(own.post, "/score", content=json.dumps({"sleep": 0.7}))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if "modelport_requests_in_flight 1" in httpx.get(f"{server.url}/metrics").text:
                break
        assert server.stop() == 0
        assert pending.result().status_code == 200
