"""One worker process: load the script, run init(), report to the supervisor, serve HTTP.

Started by the supervisor as `python -m modelport.scoring._worker` with its settings in the
MODELPORT_WORKER environment variable and the listening socket inherited by file descriptor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import threading
import time
from typing import Any

import uvicorn

from modelport import settings
from modelport._net import is_listening
from modelport.errors import EntryScriptError
from modelport.scoring import logs
from modelport.scoring._accept import BalancedListener
from modelport.scoring._protocol import expire_slow_heads, protocol_class
from modelport.scoring.config import ServerConfig

log = logging.getLogger("modelport.scoring")


def main() -> None:
    spec: dict[str, Any] = json.loads(os.environ.pop("MODELPORT_WORKER"))
    config = ServerConfig.from_json(spec["config"])
    logs.configure(config.log_level)
    ctrl = int(spec["ctrl_fd"])
    os.environ.update(config.script_env())
    try:
        app, runner = build(config, spec["index"], spec["shm"])
    except EntryScriptError as exc:
        _report(ctrl, b"E" + str(exc).replace("\n", " ").encode() + b"\n")
        sys.exit(3)
    except Exception as exc:  # a bug of ours: say so instead of hanging the supervisor
        log.exception("worker start-up failed")
        _report(ctrl, f"Ethe worker failed to start: {type(exc).__name__}: {exc}\n".encode())
        sys.exit(3)
    sock = socket.socket(fileno=int(spec["fd"]))
    serve(app, sock, ctrl, config)
    runner.close()


def build(config: ServerConfig, index: int, shm: str | None) -> tuple[Any, Any]:
    from modelport.scoring import entry, metrics
    from modelport.scoring.app import ScoringApp
    from modelport.scoring.runner import make_runner

    assert config.entry_script and config.app_root
    with entry.native_imports_checked(config.entry_script):
        script = entry.load(config.entry_script, config.app_root, config.source_dir)
        script.call_init(config.app_root)
    state = (
        metrics.SharedState.attach(shm, config.workers or 1)
        if shm
        else metrics.SharedState.in_memory(config.workers or 1)
    )
    metrics.set_worker_slot(state.slot(index))
    runner = make_runner(
        script.run, script.is_async, config.scoring_timeout_ms / 1000.0, config.max_wait_s
    )
    return ScoringApp(script, config, runner, state, index), runner


def serve(app: Any, sock: socket.socket, ctrl: int, config: ServerConfig) -> None:
    from modelport.scoring import metrics

    uv_config = uvicorn.Config(
        app,
        http=protocol_class(config),  # httptools with bounded request heads
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=30,
        ssl_certfile=config.ssl_certfile,
        ssl_keyfile=config.ssl_keyfile,
    )
    server = DrainingServer(uv_config, app, config.reuse_port)
    parent = os.getppid()

    async def run() -> None:
        watcher = asyncio.ensure_future(_watch_parent(server, parent))
        threading.Thread(
            target=_watch_run, args=(app, ctrl, config), name="modelport-watchdog", daemon=True
        ).start()
        app.metrics.set(metrics.S_READY, 1.0)
        _report(ctrl, b"R\n")
        while config.reuse_port and not is_listening(sock):
            await asyncio.sleep(0.01)  # the pool listens once every worker is ready
        await server.serve(sockets=[sock])
        watcher.cancel()

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(run())


class DrainingServer(uvicorn.Server):
    """On the first SIGTERM/SIGINT: stop accepting, answer with `Connection: close` until the
    connections are gone or `MODELPORT_DRAIN_S` (1 s) passes, then shut down as uvicorn does.

    The listening socket is shared with the next generation of workers, so clients that
    reconnect land there; no request in flight is cut off by a closing keep-alive socket.
    """

    def __init__(self, config: uvicorn.Config, app: Any, reuse_port: bool = False) -> None:
        super().__init__(config)
        self.app = app
        self.reuse_port = reuse_port
        self.drain_started: float | None = None
        self.drain_s = float(settings.get("MODELPORT_DRAIN_S"))

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.drain_started is None and not self.should_exit:
            self.drain_started = time.monotonic()  # acted on in on_tick, inside the loop
            return
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """As uvicorn's, but accepting through a BalancedListener (see _accept.py)."""
        await self.lifespan.startup()
        config = self.config

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            protocol: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=_loop,
            )
            return protocol

        app = self.app
        self.listeners = [
            BalancedListener(
                sock,
                create_protocol,
                app.state,
                app.worker_index,
                self.server_state.connections,
                ssl=config.ssl,
            )
            for sock in sockets or []
        ]
        for listener in self.listeners:
            listener.start()
        self.servers = self.listeners  # type: ignore[assignment]  # uvicorn only calls close()
        self.started = True

    async def on_tick(self, counter: int) -> bool:
        if self.drain_started is not None and not self.should_exit:
            if not self.app.draining:
                self.app.draining = True
                for listener in self.listeners:
                    listener.close()
                    if self.reuse_port:
                        # Stop listening at once (for every process sharing the socket): new
                        # connections go to the other servers on the port, and those queued
                        # here move there (net.ipv4.tcp_migrate_req=1) instead of being reset.
                        with contextlib.suppress(OSError):
                            listener.sock.shutdown(socket.SHUT_RD)
            elapsed = time.monotonic() - self.drain_started
            if not self.server_state.connections or elapsed > self.drain_s:
                self.should_exit = True
        for listener in getattr(self, "listeners", ()):
            listener.refresh()
        if counter % 10 == 0:  # ticks are 0.1 s apart
            expire_slow_heads(self.server_state.connections, asyncio.get_running_loop().time())
        result: bool = await super().on_tick(counter)
        return result


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return None
    return uvloop.new_event_loop


async def _watch_parent(server: Any, parent: int) -> None:
    """Exit when the supervisor is gone (e.g. killed with SIGKILL)."""
    while True:
        await asyncio.sleep(1.0)
        if os.getppid() != parent:
            log.warning("supervisor %s is gone; shutting down", parent)
            server.should_exit = True
            return


def _watch_run(app: Any, ctrl: int, config: ServerConfig) -> None:
    """A thread: ask the pool to replace this worker when run() stays stuck past the scoring
    timeout (blocked in C, where the alarm cannot reach it); until then every later request
    of this worker waits behind it, and the event loop itself may be blocked."""
    from modelport.scoring import metrics

    grace = float(settings.get("MODELPORT_STUCK_GRACE_S"))
    runner = app.runner
    while runner is not None:
        time.sleep(min(0.5, grace / 2))
        overrun = runner.overrun_s()
        if overrun > grace:
            app.metrics.set(metrics.S_READY, 0.0)
            timeout = config.scoring_timeout_ms / 1000
            message = (
                f"run() has not returned {timeout + overrun:.1f} s after it started (scoring "
                f"timeout {timeout:g} s, grace {grace:g} s); it is blocked outside Python"
            )
            _report(ctrl, b"S" + message.encode() + b"\n")
            return


def _report(fd: int, message: bytes) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, message)


if __name__ == "__main__":
    main()
