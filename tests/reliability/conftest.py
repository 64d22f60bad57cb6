"""Fault injection with real processes: every test kills, stops or starves something real and
checks that modelport recovers (or says Failed with the reason) and leaves nothing behind."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from modelport.core import Model, Workspace

ECHO = """\
import json, signal, threading

def init():
    pass

def run(raw_data):
    data = json.loads(raw_data)
    if data.get("mode") == "wait":  # a blocking wait: the timeout must still end it
        threading.Event().wait()
    if data.get("mode") == "stuck":  # like C code that never returns to Python
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
        threading.Event().wait()
    return {"echo": data}
"""


@pytest.fixture
def echo_script(tmp_path: Path) -> Path:
    path = tmp_path / "echo_score.py"
    path.write_text(ECHO)
    return path


@pytest.fixture
def rws(service_ws: Workspace) -> Workspace:
    return service_ws


@pytest.fixture
def tiny_model(rws: Workspace, tmp_path: Path) -> Model:
    path = tmp_path / "tiny.bin"
    path.write_bytes(b"weights")
    return Model.register(rws, path, "tiny")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


RECOVERIES: list[tuple[str, float]] = []  # (what, seconds): printed with -s for the notes


def eventually(check: Callable[[], bool], what: str, timeout: float = 120) -> float:
    """Wait until `check()` holds (generous: the machine may be busy); return seconds taken."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)
    taken = time.monotonic() - start
    RECOVERIES.append((what, taken))
    return taken


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for what, taken in RECOVERIES:
        terminalreporter.write_line(f"recovery: {what}: {taken:.2f} s")
