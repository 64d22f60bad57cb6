"""One router server process: uvicorn on the socket its supervisor holds.

`python -m modelport.routing.server FD FOLDER [SLOT SLOTS]` (slot 0 of 1 when not given). SIGHUP (or `POST /-/reload`) re-reads the
routing table; SIGTERM stops accepting, finishes the requests in flight, and exits.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    import signal

    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the app handles it (startup re-reads)
    import uvicorn

    from modelport.routing.app import RouterApp

    args = sys.argv[1:] if argv is None else argv
    fd, folder = args[:2]
    slot, slots = (int(args[2]), int(args[3])) if len(args) >= 4 else (0, 1)
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        loop = "asyncio"
    config = uvicorn.Config(
        RouterApp(Path(folder), slot, slots),
        loop=loop,
        http="httptools",
        lifespan="on",
        access_log=False,
        proxy_headers=False,  # nobody forwards to the router; the middleware was ~1% of its CPU
        server_header=False,
        log_level="warning",
        timeout_graceful_shutdown=60,
        timeout_keep_alive=30,
    )
    # a TCP socket object (uvicorn's `fd=` takes it for a unix socket and leaves Nagle on,
    # which costs ~40 ms a request with delayed ACKs)
    sock = socket.socket(fileno=int(fd))
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
