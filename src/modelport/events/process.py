"""The events process's lifecycle: one per workspace, started on demand, found by pidfile.

`serve` holds an exclusive lock on `events/.lock` for as long as it runs (the kernel drops it
when the process dies, even by SIGKILL) and publishes `events/process.json` (pid and start
time). `ensure_running` starts one in the background when none is alive, so creating a
webhook or a trigger, or asking for the status, brings a dead one back. The work itself is in
`dispatcher.py`; all of it is in the database, so a restarted process goes on where the dead
one stopped.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from modelport._procs import process_alive
from modelport.errors import Conflict, ModelportError

if TYPE_CHECKING:
    from modelport.workspace import Workspace

START_TIMEOUT_S = 60.0


def folder(workspace: Workspace) -> Path:
    return workspace.path / "events"


def _pidfile(workspace: Workspace) -> Path:
    return folder(workspace) / "process.json"


def running(workspace: Workspace) -> dict[str, Any] | None:
    """The live process's {pid, started}, or None."""
    try:
        info: dict[str, Any] = json.loads(_pidfile(workspace).read_text())
    except (OSError, ValueError):
        return None
    return info if process_alive(info.get("pid"), info.get("started")) else None


def serve(workspace: Workspace, stop: threading.Event | None = None) -> None:
    """Run the dispatcher in this process until SIGTERM/SIGINT (or `stop`)."""
    from modelport.events.dispatcher import Dispatcher
    from modelport.events.triggers import remove_stale_gates

    home = folder(workspace)
    home.mkdir(parents=True, exist_ok=True)
    lock = open(home / ".lock", "a")  # noqa: SIM115 - held until this process ends
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        other = running(workspace)
        raise Conflict(
            "An events process already runs for this workspace"
            + (f" (pid {other['pid']})." if other else "."),
            hint="See it with `modelport events status`; stop it with `modelport events stop`.",
        ) from None
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    me = psutil.Process()
    _write_atomic(_pidfile(workspace), {"pid": me.pid, "started": me.create_time()})
    print(f"events: serving workspace {workspace.path} (pid {me.pid})", flush=True)
    try:
        remove_stale_gates(workspace)
        Dispatcher(workspace, stop).run()
    finally:
        _pidfile(workspace).unlink(missing_ok=True)
        lock.close()
        print("events: stopped", flush=True)


def ensure_running(workspace: Workspace) -> dict[str, Any]:
    """The live process's {pid, started}, starting one in the background if none runs."""
    info = running(workspace)
    if info is not None:
        return info
    home = folder(workspace)
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "events.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelport.events", str(workspace.path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives the command that started it
            env={**os.environ, "MODELPORT_WORKSPACE": str(workspace.path)},
        )
    # reaps it should it end while we run (no zombie), and keeps the handle referenced
    threading.Thread(target=proc.wait, name="events-process-reaper", daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        info = running(workspace)
        if info is not None:
            return info  # ours, or a rival's that won the lock
        if proc.poll() is not None and running(workspace) is None:
            break
        time.sleep(0.05)
    raise ModelportError(
        "The events process did not start.", hint=f"See its log: {home / 'events.log'}"
    )


def stop(workspace: Workspace, timeout: float = 60.0) -> int | None:
    """SIGTERM the live process and wait for it to end; its pid, or None if none ran."""
    info = running(workspace)
    if info is None:
        return None
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process_alive(pid, info["started"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process_alive(pid, info["started"]):
        os.kill(pid, signal.SIGKILL)
    return pid


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
