"""One router server process: uvicorn on the socket its supervisor holds.

`python -m modelport.routing.server FD FOLDER`. SIGHUP (or `POST /-/reload`) re-reads the
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

    fd, folder = (sys.argv[1:] if argv is None else argv)[:2]
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        loop = "asyncio"
    config = uvicorn.Config(
        RouterApp(Path(folder)),
        loop=loop,
        http="httptools",
        lifespan="on",
        access_log=False,
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
