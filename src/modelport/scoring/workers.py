"""The worker pool: binds the socket, starts the worker processes, restarts crashed ones and
keeps the shared readiness flag true only while every worker is serving."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from modelport._net import BACKLOG, is_listening, listen_socket, receive_socket
from modelport.errors import DeploymentError, EntryScriptError
from modelport.scoring.config import ServerConfig
from modelport.scoring.metrics import SharedState

log = logging.getLogger("modelport.scoring")
GRACE_S = 30.0


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes]
    ctrl: int
    ready: bool = False
    started: float = field(default_factory=time.monotonic)
    buffer: bytes = b""


class WorkerPool:
    """Owns the listening socket and the worker processes."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.count = config.workers or 1
        if config.listen_fd is not None:
            self.sock = _adopt(config.listen_fd)
        elif config.listen_from is not None:
            self.sock = _receive(config.listen_from)
        else:
            self.sock = _bind(config.host, config.port, config.reuse_port)
        self.port = self.sock.getsockname()[1]
        self.state, self.shm_path = SharedState.create(self.count)
        self.workers: dict[int, _Worker] = {}
        self.selector = selectors.DefaultSelector()
        self.stopping = False
        self.ever_ready = False
        self.failures: dict[int, int] = {}
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)

    # ------------------------------------------------------------------ lifecycle
    def run(self) -> None:
        """Start, serve until SIGTERM/SIGINT, drain. Raises EntryScriptError if init fails."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            if self.config.port_file:
                _write_atomic(self.config.port_file, str(self.port))
            for index in range(self.count):
                self._spawn(index)
            log.info(
                "modelport scoring server on %s://%s:%d with %d workers",
                "https" if self.config.ssl_certfile else "http",
                self.config.host,
                self.port,
                self.count,
            )
            self._loop()
        finally:
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _spawn(self, index: int) -> None:
        read_fd, write_fd = os.pipe()
        spec = {
            "config": self.config.to_json(),
            "index": index,
            "fd": self.sock.fileno(),
            "ctrl_fd": write_fd,
            "shm": self.shm_path,
        }
        env = dict(os.environ, MODELPORT_WORKER=json.dumps(spec))
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelport.scoring._worker"],
            env=env,
            pass_fds=(self.sock.fileno(), write_fd),
            cwd=self.config.app_root,
        )
        os.close(write_fd)
        self.state.reset_slot_gauges(index)
        worker = _Worker(index, proc, read_fd)
        self.workers[index] = worker
        self.selector.register(read_fd, selectors.EVENT_READ, worker)

    def _loop(self) -> None:
        # A supervised server (given its socket) never outlives its supervisor: PDEATHSIG
        # covers Linux, this check every other system and a supervisor that was replaced.
        parent = os.getppid() if self.config.listen_fd is not None else None
        while not self.stopping:
            if parent is not None and os.getppid() != parent:
                log.warning("supervisor %d is gone; shutting down", parent)
                break
            for key, _ in self.selector.select(timeout=0.5):
                if key.data is None:
                    os.read(self._wake_r, 64)
                    continue
                self._read_ctrl(key.data)
            self._reap()

    def _read_ctrl(self, worker: _Worker) -> None:
        try:
            chunk = os.read(worker.ctrl, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            self.selector.unregister(worker.ctrl)
            return
        worker.buffer += chunk
        while b"\n" in worker.buffer:
            line, worker.buffer = worker.buffer.split(b"\n", 1)
            if line.startswith(b"R"):
                worker.ready = True
                self.failures[worker.index] = 0
                self._update_ready()
            elif line.startswith(b"S"):  # run() stuck past the timeout: replace the worker
                message = line[1:].decode(errors="replace")
                log.error("worker %d: %s; replacing it", worker.index, message)
                worker.ready = False
                self._set_ready(False)
                with contextlib.suppress(ProcessLookupError):
                    worker.proc.kill()
            elif line.startswith(b"E"):
                message = line[1:].decode(errors="replace")
                if not self.ever_ready:
                    raise EntryScriptError(message)
                log.error("worker %d failed to restart: %s", worker.index, message)

    def _update_ready(self) -> None:
        ready = len(self.workers) == self.count and all(w.ready for w in self.workers.values())
        if ready and not self.ever_ready:
            self.ever_ready = True
            log.info("all %d workers ready", self.count)
            if self.config.reuse_port and not is_listening(self.sock):
                self.sock.listen(BACKLOG)  # only now may the kernel route connections here
            if self.config.ready_file:
                _write_atomic(self.config.ready_file, str(os.getpid()))
        self._set_ready(ready)

    def _set_ready(self, ready: bool) -> None:
        self.state.set_ready(ready)
        if self.config.health_file:
            if ready:
                _write_atomic(self.config.health_file, str(os.getpid()))
            else:
                with contextlib.suppress(OSError):
                    os.unlink(self.config.health_file)

    def _reap(self) -> None:
        for index, worker in list(self.workers.items()):
            code = worker.proc.poll()
            if code is None or self.stopping:
                continue
            self._close_ctrl(worker)
            self._set_ready(False)
            if not self.ever_ready:
                raise EntryScriptError(
                    f"{self.config.entry_script}: a worker exited with code {code} during "
                    "start-up; see the log above."
                )
            failures = self.failures.get(index, 0) + 1
            self.failures[index] = failures
            delay = min(30.0, 0.5 * 2 ** (failures - 1)) if failures > 1 else 0.0
            log.error(
                "worker %d (pid %d) exited with code %s; restarting", index, worker.proc.pid, code
            )
            if delay:
                time.sleep(delay)
            self.state.add_restart()
            self._spawn(index)

    def _close_ctrl(self, worker: _Worker) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(worker.ctrl)
        with contextlib.suppress(OSError):
            os.close(worker.ctrl)

    def _shutdown(self) -> None:
        self._set_ready(False)
        for worker in self.workers.values():
            if worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S + 5
        for worker in self.workers.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                worker.proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()
            self._close_ctrl(worker)
        self.sock.close()
        self.state.close()
        for path in (self.shm_path, self.config.port_file):
            if path:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        self.selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


def _bind(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    try:
        return listen_socket(host, port, reuse_port)
    except OSError as exc:
        raise DeploymentError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None


def _adopt(fd: int) -> socket.socket:
    """Serve on a listening socket inherited from a parent that keeps the port across restarts."""
    sock = socket.socket(fileno=fd)
    sock.set_inheritable(True)
    return sock


def _receive(path: str) -> socket.socket:
    """Serve on a listening socket handed over a unix socket (a container service's port is
    owned by a process outside the container, so updates never close it)."""
    try:
        sock = receive_socket(path)
    except OSError as exc:
        raise DeploymentError(f"Cannot receive the listening socket from {path}: {exc}.") from None
    sock.set_inheritable(True)
    return sock


def _write_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
