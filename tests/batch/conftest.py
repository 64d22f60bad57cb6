"""Batch fixtures: a workspace, small inputs made on the spot, and no driver left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from modelport.workspace import Workspace


@pytest.fixture
def bws(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace whose batch drivers (and so their workers) are all stopped at teardown."""
    workspace = Workspace.create(tmp_path / "ws")
    yield workspace
    for record in workspace.store.list_runs():
        kill_driver(int(record.properties.get("driver_pid", "0") or 0))
    workspace.close()


def kill_driver(pid: int) -> None:
    """SIGKILL a driver's process group (it leads its own session) and wait for it."""
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(psutil.Error, ChildProcessError):
        os.waitpid(pid, 0)
    with contextlib.suppress(psutil.Error):
        psutil.Process(pid).wait(timeout=30)


@pytest.fixture
def files(tmp_path: Path) -> Callable[[int], Path]:
    """`files(n)`: a folder of n small text files, f0000.txt holding '0', ..."""

    def make(n: int, name: str = "data") -> Path:
        folder = tmp_path / name
        folder.mkdir()
        for i in range(n):
            (folder / f"f{i:04d}.txt").write_text(str(i))
        return folder

    return make


@pytest.fixture
def script(tmp_path: Path) -> Callable[[str, str], Path]:
    """`script(name, source)`: write an entry script into tmp/scripts and return its path."""
    folder = tmp_path / "scripts"
    folder.mkdir(exist_ok=True)

    def write(name: str, source: str) -> Path:
        path = folder / name
        path.write_text(textwrap.dedent(source))
        return path

    return write


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Poll a condition (never a fixed sleep); the deadline only guards against a hang."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# A v1 batch script over files: argparse in init(), one result line per file.
FILE_SCRIPT = """
import argparse
import os

def init():
    global mult
    parser = argparse.ArgumentParser()
    parser.add_argument("--mult", type=int, default=1)
    args, _ = parser.parse_known_args()
    mult = args.mult

def run(mini_batch):
    return [f"{os.path.basename(p)}:{int(open(p).read()) * mult}" for p in mini_batch]
"""
