"""The router's supervisor: holds the endpoint's port and keeps one server process on it.

`python -m modelport.routing FOLDER HOST PORT`. It binds the socket once (so a restarted
server keeps the address and connections wait in the backlog meanwhile), starts
`routing.server` on it, restarts it with back-off if it dies, forwards SIGHUP (reload the
table) and on SIGTERM stops the server gracefully and exits. It publishes `status.json`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from modelport._net import listen_socket
from modelport._procs import die_with_parent
from modelport.routing.table import STATUS, read_json, write_json

LOG = "router.log"


class RouterSupervisor:
    def __init__(self, folder: Path, host: str, port: int) -> None:
        self.folder, self.host, self.port = folder, host, port
        self.stop = False
        self.child: subprocess.Popen[bytes] | None = None

    def _status(self, **fields: object) -> None:
        path = self.folder / STATUS
        write_json(path, {**read_json(path), **fields})

    def _log(self, message: str) -> None:
        with open(self.folder / LOG, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} [router] {message}\n")

    def _forward(self, signum: int) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop", True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "stop", True))
        signal.signal(signal.SIGHUP, lambda *_: self._forward(signal.SIGHUP))
        me = psutil.Process()
        self._status(supervisor_pid=me.pid, supervisor_started=me.create_time(), state="Starting")
        try:
            sock = listen_socket(self.host, self.port)
        except OSError as exc:
            reason = f"port {self.port} on {self.host} is not available: {exc.strerror}"
            self._log(reason)
            self._status(state="Failed", error=reason)
            return 3
        failures = 0
        while not self.stop:
            with open(self.folder / LOG, "ab") as log:
                self.child = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "modelport.routing.server",
                        str(sock.fileno()),
                        str(self.folder),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    pass_fds=(sock.fileno(),),
                    preexec_fn=die_with_parent,
                )
            started = psutil.Process(self.child.pid).create_time()
            self._status(state="Running", error=None, server=[self.child.pid, started])
            self._log(f"server pid {self.child.pid} on {self.host}:{self.port}")
            while not self.stop and self.child.poll() is None:
                time.sleep(0.1)
            if self.stop:
                break
            failures += 1
            delay = min(30.0, 0.5 * 2 ** (failures - 1))
            self._log(
                f"server exited with code {self.child.returncode}; restarting in {delay:.1f}s"
            )
            self._status(
                state="Restarting", error=f"server exited with code {self.child.returncode}"
            )
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and not self.stop:
                time.sleep(0.1)
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)
            try:
                self.child.wait(timeout=70)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        sock.close()
        self._status(state="Stopped", error=None)
        return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m modelport.routing FOLDER HOST PORT", file=sys.stderr)
        return 2
    os.umask(0o077)  # the shadow sink and logs are the endpoint owner's
    return RouterSupervisor(Path(args[0]), args[1], int(args[2])).run()
