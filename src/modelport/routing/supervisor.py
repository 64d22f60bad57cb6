"""The router's supervisor: holds the endpoint's port and keeps its server processes on it.

`python -m modelport.routing FOLDER HOST PORT [SERVERS]` (SERVERS defaults to 1). It binds
the socket once (so a restarted server keeps the address and connections wait in the backlog
meanwhile), starts SERVERS `routing.server` processes on it, restarts each with back-off if
it dies, forwards SIGHUP (reload the
table) and on SIGTERM stops the server gracefully and exits. It publishes `status.json`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from modelport._net import listen_socket
from modelport._procs import die_with_parent
from modelport.routing.table import STATUS, TABLE, read_json, write_json

LOG = "router.log"


class _Slot:
    """One server process position: its process, and when it may be started again."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.child: subprocess.Popen[bytes] | None = None
        self.failures = 0
        self.start_at = 0.0

    @property
    def running(self) -> bool:
        return self.child is not None and self.child.poll() is None


class RouterSupervisor:
    def __init__(self, folder: Path, host: str, port: int, servers: int = 1) -> None:
        self.folder, self.host, self.port = folder, host, port
        self.stop = False
        self.slots = [_Slot(i) for i in range(max(1, servers))]

    def _status(self, **fields: object) -> None:
        path = self.folder / STATUS
        write_json(path, {**read_json(path), **fields})

    def _log(self, message: str) -> None:
        with open(self.folder / LOG, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} [router] {message}\n")

    def _forward(self, signum: int) -> None:
        for slot in self.slots:
            if slot.child is not None and slot.running:
                slot.child.send_signal(signum)

    def _spawn(self, slot: _Slot, sock: socket.socket) -> None:
        with open(self.folder / LOG, "ab") as log:
            slot.child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "modelport.routing.server",
                    str(sock.fileno()),
                    str(self.folder),
                    str(slot.index),
                    str(len(self.slots)),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(sock.fileno(),),
                preexec_fn=die_with_parent,
            )
        self._log(f"server {slot.index} pid {slot.child.pid} on {self.host}:{self.port}")

    def _publish(self) -> None:
        servers = []
        for slot in self.slots:
            if slot.child is not None and slot.running:
                with contextlib.suppress(psutil.NoSuchProcess):
                    started = psutil.Process(slot.child.pid).create_time()
                    servers.append([slot.child.pid, started])
        down = [s for s in self.slots if not s.running]
        if down:
            codes = ", ".join(
                f"server {s.index} exited with code {s.child.returncode}"
                for s in down
                if s.child is not None
            )
            self._status(state="Restarting", error=codes or None, servers=servers)
        else:
            self._status(state="Running", error=None, server=servers[0], servers=servers)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop", True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "stop", True))
        signal.signal(signal.SIGHUP, lambda *_: self._forward(signal.SIGHUP))
        if not (self.folder / TABLE).exists():
            return 0  # its endpoint is gone (a killed create cleaned up before we started)
        me = psutil.Process()
        self._status(
            supervisor_pid=me.pid,
            supervisor_started=me.create_time(),
            state="Starting",
            workers=len(self.slots),
        )
        try:
            # one socket for every server process: the kernel hands each connection to one
            # of them, and a restarted process takes up the same socket (no connection lost)
            sock = listen_socket(self.host, self.port)
        except OSError as exc:
            reason = f"port {self.port} on {self.host} is not available: {exc.strerror}"
            self._log(reason)
            self._status(state="Failed", error=reason)
            return 3
        changed = True
        while not self.stop:
            if not (self.folder / TABLE).exists():
                break  # the endpoint's folder was removed under us: nobody owns this router
            now = time.monotonic()
            for slot in self.slots:
                if slot.child is not None and not slot.running and slot.start_at == 0.0:
                    slot.failures += 1
                    delay = min(30.0, 0.5 * 2 ** (slot.failures - 1))
                    slot.start_at = now + delay
                    self._log(
                        f"server {slot.index} exited with code {slot.child.returncode}; "
                        f"restarting in {delay:.1f}s"
                    )
                    changed = True
                if not slot.running and now >= slot.start_at:
                    self._spawn(slot, sock)
                    slot.start_at = 0.0
                    changed = True
            if changed:
                self._publish()
                changed = False
            time.sleep(0.1)
        for slot in self.slots:
            if slot.child is not None and slot.running:
                slot.child.send_signal(signal.SIGTERM)
        for slot in self.slots:
            if slot.child is None:
                continue
            try:
                slot.child.wait(timeout=70)
            except subprocess.TimeoutExpired:
                slot.child.kill()
                slot.child.wait()
        sock.close()
        if (self.folder / TABLE).exists():
            self._status(state="Stopped", error=None)
        return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (3, 4):
        print("usage: python -m modelport.routing FOLDER HOST PORT [SERVERS]", file=sys.stderr)
        return 2
    os.umask(0o077)  # the shadow sink and logs are the endpoint owner's
    servers = int(args[3]) if len(args) == 4 else 1
    return RouterSupervisor(Path(args[0]), args[1], int(args[2]), servers).run()
