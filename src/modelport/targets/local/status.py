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

from modelport._procs import process_alive


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


def service_processes(status: dict[str, Any]) -> list[psutil.Process]:
    """Every live process of a service: the supervisor's process group (it leads its own
    session) and the scoring servers it recorded, each checked against its start time so a
    reused PID is never taken for ours."""
    found: dict[int, psutil.Process] = {}
    leader, leader_started = status.get("supervisor_pid"), status.get("supervisor_started")
    for pid, started in status.get("servers", []):
        if process_alive(pid, started):
            proc = psutil.Process(pid)
            found[pid] = proc
            for child in proc.children(recursive=True):
                found[child.pid] = child
    if leader and leader_started:
        for proc in psutil.process_iter(["pid", "create_time"]):
            try:
                in_group = os.getpgid(proc.pid) == leader
            except OSError:
                continue
            if in_group and proc.info["create_time"] >= leader_started - 1.0:
                found[proc.pid] = proc
    found.pop(os.getpid(), None)
    return list(found.values())
