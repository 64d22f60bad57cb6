"""Names for scratch files and folders that say which process writes them.

A `.part` file or a staging folder left behind by a killed writer is garbage, but one being
written right now is not; the name alone must tell them apart, without any shared state. So
each name carries the writer's host, PID and process start time (from /proc): the writer is
gone when no process with that PID started at that time runs on this host. PIDs are reused,
hence the start time; the host (hashed) keeps containers that share a workspace folder from
judging each other's processes by their own PID namespace. Where /proc is missing the
liveness is unknown, and only `modelport workspace gc` (under the store's exclusive lock)
reclaims such files.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_tags: dict[int, str] = {}


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # field 22 (starttime); the command name before it may hold spaces and parentheses
    return stat.rsplit(")", 1)[1].split()[19]


def _tag() -> str:
    pid = os.getpid()  # per call, not per import: forked children are other writers
    if pid not in _tags:
        _tags[pid] = f"{_HOST}.{pid}.{_start_time(pid) or 0}"
    return _tags[pid]


def scratch_name(prefix: str, suffix: str = "") -> str:
    """A unique name owned by this process, e.g. `.stage-<host>.<pid>.<start>.<rand>`."""
    return f"{prefix}{_tag()}.{uuid.uuid4().hex[:12]}{suffix}"


def writer_is_gone(name: str, prefix: str) -> bool:
    """True only when `name` came from scratch_name() and its writer has certainly exited."""
    if not name.startswith(prefix):
        return False
    parts = name[len(prefix) :].split(".")
    if len(parts) < 4 or parts[0] != _HOST or not parts[1].isdigit() or parts[2] == "0":
        return False
    return _start_time(int(parts[1])) != parts[2]
