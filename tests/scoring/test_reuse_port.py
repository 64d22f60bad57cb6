"""`--reuse-port`: servers sharing one host:port (Kubernetes replicas on a node's network).
A server listens only once its workers are ready, and one that stops hands its traffic to the
others without failing a request (with net.ipv4.tcp_migrate_req=1 queued connections move)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from tests.scoring.conftest import Server


def test_servers_share_a_port_and_one_stopping_drops_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def init():\n    pass\n\ndef run(raw):\n    return 'a'\n")
    (tmp_path / "b.py").write_text("def init():\n    pass\n\ndef run(raw):\n    return 'b'\n")
    health = tmp_path / "healthy-a"
    first = Server(tmp_path, "a.py", "--reuse-port", "--health-file", str(health))
    second = Server(tmp_path, "b.py", "--reuse-port", "--port", str(first.port))
    assert second.port == first.port
    assert health.exists()  # present while every worker is ready
    failures: list[str] = []
    answers: list[str] = []
    stop = threading.Event()

    def send() -> None:
        while not stop.is_set():
            try:
                answer = httpx.post(f"{first.url}/score", content=b"x", timeout=30)
                if answer.status_code == 200:
                    answers.append(answer.json())
                else:
                    failures.append(str(answer.status_code))
            except httpx.HTTPError as exc:
                failures.append(repr(exc))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        while "a" not in answers or "b" not in answers:  # the kernel spreads connections
            assert not failures
        assert first.stop() == 0
        assert not health.exists()
        count = len(answers)
        while len(answers) < count + 50:
            assert not failures
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        second.stop()
    assert failures == []
    assert answers[-1] == "b"
