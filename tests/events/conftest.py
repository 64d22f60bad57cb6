"""Fixtures for the events tests: a real webhook receiver process, the events process
stopped by PID after each test, fast retries."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelport._net import free_port
from modelport.core.workspace import Workspace
from modelport.events import process

RECEIVER = Path(__file__).parent / "receiver.py"
SECRET = "s3cret-for-tests"


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The events process inherits these: retries after 0.2, 0.4, … capped at 1 s."""
    monkeypatch.setenv("MODELPORT_WEBHOOK_RETRY_BASE_S", "0.2")
    monkeypatch.setenv("MODELPORT_WEBHOOK_RETRY_MAX_S", "1")
    monkeypatch.setenv("MODELPORT_EVENTS_POLL_S", "0.05")


class Receiver:
    """The receiver process on a fixed loopback port; start/kill/restart it at will."""

    def __init__(self, folder: Path, secret: str = SECRET) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.out = folder / "received.jsonl"
        self.secret = secret
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, hang_marker: Path | None = None) -> None:
        args = [sys.executable, str(RECEIVER), str(self.port), self.secret, str(self.out)]
        if hang_marker is not None:
            args += ["--hang-first", str(hang_marker)]
        self.proc = subprocess.Popen(args)
        wait_for(self._listening, "the receiver never listened")

    def _listening(self) -> bool:
        import socket

        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def received(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line]

    def ids(self, event_type: str | None = None) -> set[int]:
        return {r["id"] for r in self.received() if event_type in (None, r["type"])}


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    r = Receiver(tmp_path)
    r.start()
    yield r
    r.kill()


@pytest.fixture
def events_ws(ws: Workspace) -> Iterator[Workspace]:
    """`ws` (SQLite, then PostgreSQL) whose events process is stopped by PID afterwards."""
    yield ws
    process.stop(ws)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    """Poll `condition` until it is truthy; generous, for a busy machine."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
