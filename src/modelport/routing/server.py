"""One router server process: the router's HTTP server (`protocol.py`) on the socket its
supervisor holds.

`python -m modelport.routing.server FD FOLDER [SLOT SLOTS]` (slot 0 of 1 when not given). SIGHUP (or `POST /-/reload`) re-reads the
routing table; SIGTERM (or SIGINT) stops accepting, finishes the requests in flight, and exits.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
import sys
from pathlib import Path


async def serve(folder: Path, sock: socket.socket, slot: int, slots: int) -> None:
    from modelport.routing.app import RouterApp
    from modelport.routing.protocol import Server

    app = RouterApp(folder, slot, slots)
    await app.startup()
    # what start-up made lives as long as the process: out of the collector's way, so the
    # collections that requests' garbage triggers do not walk it again and again
    gc.freeze()
    server = Server(app.handle)
    await server.start(sock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.drain()
    await app.shutdown()


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the app handles it (startup re-reads)
    args = sys.argv[1:] if argv is None else argv
    fd, folder = args[:2]
    slot, slots = (int(args[2]), int(args[3])) if len(args) >= 4 else (0, 1)
    # a TCP socket object, so the transports get TCP_NODELAY (Nagle with delayed ACKs costs
    # ~40 ms a request)
    sock = socket.socket(fileno=int(fd))
    main_coro = serve(Path(folder), sock, slot, slots)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        asyncio.run(main_coro)
    else:  # a Runner, not uvloop.run (0.18+): a service environment may hold uvloop 0.17
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main_coro)
    return 0


if __name__ == "__main__":
    sys.exit(main())
