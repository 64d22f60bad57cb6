"""Processes on this machine: is this PID still the process we started, and children that
never outlive their parent. Standard library and psutil only."""

from __future__ import annotations

import ctypes
import signal

import psutil


def process_alive(pid: int | None, started: float | None) -> bool:
    """True if `pid` runs and is the process that started at `started` (not a reused pid)."""
    if not pid:
        return False

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child between fork and exec: get SIGTERM when the parent dies (Linux), so a
    SIGKILLed supervisor or deployer never leaves its children running unnoticed."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the children watch their parent instead
        pass


def spawn_detached(argv: list[str], log_path: str) -> None:
    """Start `argv` detached from this process: through a short-lived launcher, so it is
    reparented away from us (never our zombie), leads its own session and outlives the CLI
    and its terminal. Its output goes to `log_path`."""
    import subprocess
    import sys

    launcher = (
        "import subprocess, sys\n"
        "subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=sys.stdout, "
        "stderr=sys.stderr, start_new_session=True)"
    )
    with open(log_path, "ab") as log:
        subprocess.run(
            [sys.executable, "-c", launcher, *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            check=True,
        )
