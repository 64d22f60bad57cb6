"""The host process that owns a container service's port.

It binds `host:port` once and hands the listening socket (SCM_RIGHTS) to every container that
connects to `run/listen.sock`, a unix socket in a folder mounted into the containers. Each
revision's scoring server accepts on that same socket, so the kernel's backlog is shared: an
update starts the new container, waits until it is ready, then drains the old one, and no
connection is ever refused or reset. No proxy sits in the data path.

Run as `python -m modelport.targets.container.portkeeper SERVICE_HOME`; it reads `port.json`
there and publishes `portkeeper.json` (pid, start time, error). SIGTERM: close and exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path

import psutil

from modelport._net import listen_socket

SOCKET_NAME = "listen.sock"


def run(home: Path) -> int:
    spec = json.loads((home / "port.json").read_text())
    me = psutil.Process()
    status: dict[str, object] = {"pid": me.pid, "started": me.create_time(), "error": None}
    try:
        listener = listen_socket(spec["host"], int(spec["port"]))
    except OSError as exc:
        status["error"] = f"port {spec['port']} on {spec['host']} is not available: {exc.strerror}"
        _publish(home, status)
        return 3
    run_dir = home / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / SOCKET_NAME
    path.unlink(missing_ok=True)
    handout = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    handout.bind(str(path))
    path.chmod(0o666)  # the containers' user may differ from ours (rootless engines map users)
    handout.listen(16)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=_hand_out, args=(handout, listener), daemon=True).start()
    _publish(home, status)
    stop.wait()
    handout.close()
    path.unlink(missing_ok=True)
    listener.close()
    return 0


def _hand_out(handout: socket.socket, listener: socket.socket) -> None:
    while True:
        try:
            conn, _ = handout.accept()
        except OSError:
            return
        with contextlib.suppress(OSError), conn:
            socket.send_fds(conn, [b"L"], [listener.fileno()])


def _publish(home: Path, status: dict[str, object]) -> None:
    tmp = home / f".portkeeper.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(status))
    os.replace(tmp, home / "portkeeper.json")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python -m modelport.targets.container.portkeeper SERVICE_HOME", file=sys.stderr
        )
        return 2
    return run(Path(args[0]))


if __name__ == "__main__":
    sys.exit(main())
