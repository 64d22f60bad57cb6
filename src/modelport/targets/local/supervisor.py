"""The long-lived process behind one local service.

It owns the listening socket, so the port stays bound across updates and restarts of the
scoring server, and it runs the server in generations: an update starts the new generation on
the same socket, waits until every worker has finished `init()`, then stops the old one
gracefully. Connections waiting in the shared backlog are accepted by whichever generation is
serving, so an update drops no request. A generation that dies is restarted with back-off.

Run as `python -m modelport.targets.local.supervisor SERVICE_DIR`; it reads `desired.json` there and
publishes `status.json`. SIGHUP: apply a new `desired.json`. SIGTERM: drain and exit.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from modelport import settings
from modelport._net import listen_socket
from modelport._procs import die_with_parent
from modelport.deploy.states import (
    FAILED,
    HEALTHY,
    STOPPED,
    TRANSITIONING,
    UNHEALTHY,
    UNSCHEDULABLE,
)
from modelport.targets.local.status import read_status, write_status

DRAIN_TIMEOUT_S = 60.0


@dataclass
class Generation:
    revision: int
    proc: subprocess.Popen[bytes]
    ready_file: Path
    log_offset: int


class ServiceSupervisor:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log_path = folder / "service.log"
        self.sock: socket.socket | None = None
        self.current: Generation | None = None
        self.reload = False
        self.stop = False
        # how long a generation may take to finish init() on every worker
        self.ready_timeout_s = float(settings.get("MODELPORT_READY_TIMEOUT_S"))

    # -- entry point --------------------------------------------------------------------
    def run(self) -> int:
        signal.signal(signal.SIGHUP, lambda *_: setattr(self, "reload", True))
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop", True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "stop", True))
        me = psutil.Process()
        write_status(self.folder, supervisor_pid=me.pid, supervisor_started=me.create_time())
        spec = self._desired()
        try:
            self.sock = listen_socket(spec["host"], int(spec["port"]))
        except OSError as exc:
            reason = f"port {spec['port']} on {spec['host']} is not available: {exc.strerror}"
            self._log(f"Unschedulable: {reason}")
            write_status(self.folder, state=UNSCHEDULABLE, error=reason)
            return 3
        write_status(self.folder, state=TRANSITIONING, error=None, revision=None)
        first = self._start(spec)
        error = self._await_ready(first)
        if error is not None:
            write_status(
                self.folder,
                state=FAILED,
                error=error,
                last_update={"update_id": spec.get("update_id"), "error": error},
            )
            self.sock.close()
            return 1
        self.current = first
        write_status(
            self.folder,
            state=HEALTHY,
            error=None,
            revision=first.revision,
            last_update={"update_id": spec.get("update_id"), "error": None},
        )
        return self._serve()

    # -- main loop ----------------------------------------------------------------------
    def _serve(self) -> int:
        failures = 0
        while not self.stop:
            time.sleep(0.1)
            assert self.current is not None
            if self.reload:
                self.reload = False
                self._apply_update()
                continue
            code = self.current.proc.poll()
            if code is None:
                continue
            failures += 1
            delay = min(30.0, 0.5 * 2 ** (failures - 1))
            self._log(f"scoring server exited with code {code}; restarting in {delay:.1f}s")
            write_status(
                self.folder, state=UNHEALTHY, error=f"scoring server exited with code {code}"
            )
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and not self.stop:
                time.sleep(0.1)
            if self.stop:
                break
            restarted = self._start(self._desired(self.current.revision))
            error = self._await_ready(restarted)
            if error is None:
                failures = 0
                self.current = restarted
                write_status(self.folder, state=HEALTHY, error=None)
        self._stop_generation(self.current)
        assert self.sock is not None
        self.sock.close()
        write_status(self.folder, state=STOPPED, error=None)
        return 0

    def _apply_update(self) -> None:
        assert self.current is not None
        spec = self._desired()
        revision = int(spec["revision"])
        if revision == self.current.revision:
            return
        self._log(f"update: starting revision {revision} beside revision {self.current.revision}")
        new = self._start(spec)
        error = self._await_ready(new)
        if error is not None:
            self._log(
                f"update to revision {revision} failed; revision {self.current.revision} keeps serving"
            )
            write_status(
                self.folder,
                last_update={
                    "update_id": spec.get("update_id"),
                    "revision": revision,
                    "error": error,
                },
            )
            return
        old, self.current = self.current, new
        self._stop_generation(old)  # drains; new connections already reach the new revision
        write_status(
            self.folder,
            state=HEALTHY,
            error=None,
            revision=revision,
            last_update={"update_id": spec.get("update_id"), "revision": revision, "error": None},
        )
        self._log(f"update: revision {revision} serving, revision {old.revision} drained")

    # -- generations --------------------------------------------------------------------
    def _start(self, spec: dict[str, Any]) -> Generation:
        assert self.sock is not None
        revision = int(spec["revision"])
        ready_file = self.folder / f".ready-{revision}-{time.monotonic_ns()}"
        fd = self.sock.fileno()
        argv = [
            spec["python"],
            "-m",
            "modelport.scoring",
            "--fd",
            str(fd),
            "--ready-file",
            str(ready_file),
            *spec["server_args"],
        ]
        env = {**os.environ, **spec["env"]}
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            proc = subprocess.Popen(
                argv,
                cwd=spec["app_root"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(fd,),
                preexec_fn=die_with_parent,
            )
        self._log(f"revision {revision}: scoring server pid {proc.pid} starting")
        started = psutil.Process(proc.pid).create_time()
        servers = [*read_status(self.folder).get("servers", []), [proc.pid, started]]
        write_status(self.folder, servers=servers[-4:])  # what delete must find if we die
        return Generation(revision, proc, ready_file, offset)

    def _await_ready(self, gen: Generation) -> str | None:
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if gen.ready_file.exists():
                gen.ready_file.unlink(missing_ok=True)
                return None
            code = gen.proc.poll()
            if code is not None:
                return self._failure_reason(gen, code)
            if self.stop:
                self._stop_generation(gen)
                return "stopped before it became ready"
            time.sleep(0.05)
        self._stop_generation(gen)
        return f"not ready after {self.ready_timeout_s:.0f}s (is init() stuck?)"

    def _failure_reason(self, gen: Generation, code: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(gen.log_offset)
            lines = [
                ln.strip() for ln in f.read().decode(errors="replace").splitlines() if ln.strip()
            ]
        for line in reversed(lines):
            if line.startswith("error:"):
                return line[len("error:") :].strip()
        last = lines[-1] if lines else "no output"
        return f"scoring server exited with code {code}: {last}"

    def _stop_generation(self, gen: Generation | None) -> None:
        if gen is None or gen.proc.poll() is not None:
            return
        gen.proc.send_signal(signal.SIGTERM)
        try:
            gen.proc.wait(timeout=DRAIN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            gen.proc.kill()
            gen.proc.wait()

    # -- helpers ------------------------------------------------------------------------
    def _desired(self, revision: int | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = json.loads((self.folder / "desired.json").read_text())
        if revision is not None and int(spec["revision"]) != revision:
            # a restart keeps the revision that was serving; updates arrive through SIGHUP
            spec = json.loads((self.folder / f"rev-{revision}" / "desired.json").read_text())
        return spec

    def _log(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(f"{stamp} [supervisor] {message}\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m modelport.targets.local.supervisor SERVICE_DIR", file=sys.stderr)
        return 2
    return ServiceSupervisor(Path(args[0])).run()


if __name__ == "__main__":
    sys.exit(main())
