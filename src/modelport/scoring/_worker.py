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
from typing import Any

from modelport.errors import EntryScriptError
from modelport.scoring import logs
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
    script = entry.load(config.entry_script, config.app_root, config.source_dir)
    script.call_init(config.app_root)
    state = (
        metrics.SharedState.attach(shm, config.workers or 1)
        if shm
        else metrics.SharedState.in_memory(config.workers or 1)
    )
    runner = make_runner(
        script.run, script.is_async, config.scoring_timeout_ms / 1000.0, config.max_wait_s
    )
    return ScoringApp(script, config, runner, state, index), runner


def serve(app: Any, sock: socket.socket, ctrl: int, config: ServerConfig) -> None:
    import uvicorn

    from modelport.scoring import metrics

    uv_config = uvicorn.Config(
        app,
        http="httptools",
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=30,
    )
    server = uvicorn.Server(uv_config)
    parent = os.getppid()

    async def run() -> None:
        watcher = asyncio.ensure_future(_watch_parent(server, parent))
        app.metrics.set(metrics.S_READY, 1.0)
        _report(ctrl, b"R\n")
        await server.serve(sockets=[sock])
        watcher.cancel()

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(run())


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


def _report(fd: int, message: bytes) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, message)


if __name__ == "__main__":
    main()
