"""One router server process: uvicorn on the socket its supervisor holds.

`python -m modelport.routing.server FD FOLDER`. SIGHUP (or `POST /-/reload`) re-reads the
routing table; SIGTERM stops accepting, finishes the requests in flight, and exits.
"""

from __future__ import annotations

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
        fd=int(fd),
        loop=loop,
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=60,
        timeout_keep_alive=30,
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
