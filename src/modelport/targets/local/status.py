"""The runtime status a service's supervisor publishes, and how clients read it.

The supervisor owns `status.json` (atomic rewrites); clients combine it with a liveness check
of the supervisor process, so a service whose processes died (or whose machine rebooted)
reads as Unhealthy instead of a stale Healthy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import psutil


def write_status(folder: Path, **fields: Any) -> dict[str, Any]:
    """Merge `fields` into status.json atomically; return the new status."""
    current = read_status(folder)
    current.update(fields)
    path = folder / "status.json"
    tmp = path.with_name(f".status.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(current))
    os.replace(tmp, path)
    return current


def read_status(folder: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((folder / "status.json").read_text())
        return data
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


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


def tail(path: Path, num_lines: int) -> str:
    """The last `num_lines` lines of a (possibly large) log file."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            block, data = 8192, b""
            while size > 0 and data.count(b"\n") <= num_lines:
                step = min(block, size)
                size -= step
                f.seek(size)
                data = f.read(step) + data
                block *= 2
    except FileNotFoundError:
        return ""
    lines = data.decode(errors="replace").splitlines()
    return "\n".join(lines[-num_lines:])
