"""Accepting connections so that they spread evenly over a server's workers.

Every worker listens on the one shared socket, and the kernel hands a new connection to
whichever worker happens to call accept() first. Keep-alive clients then stay where they
landed: eight connections from a load generator often end up 8/0 or 7/1 on two workers, and
one core idles while the other saturates (repeat-to-repeat swings of 2x on the same machine).
Here a worker accepts only while it holds no more connections than the least-loaded ready
worker; the counts live in the shared metrics file. A connection that no other worker takes
within a few milliseconds (they are all busy) is accepted anyway, so balancing never delays
a client by more than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Sized
from typing import Any

from modelport.scoring import metrics

log = logging.getLogger("modelport.scoring")

MAX_DEFER_S = 0.005  # longest a pending connection waits for a less-loaded worker
RECHECK_S = 0.0005  # how soon a worker that deferred looks at the socket again
BURST = 16  # connections accepted per wake-up at most, each one re-checked


class BalancedListener:
    """Takes the place of asyncio's Server for uvicorn: `close()` stops accepting."""

    def __init__(
        self,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.Protocol],
        state: metrics.SharedState,
        index: int,
        connections: Sized,
        ssl: Any = None,
    ) -> None:
        self.sock = sock
        self.factory = protocol_factory
        self.state = state
        self.index = index
        self.connections = connections
        self.ssl = ssl
        self.pending = 0  # accepted, not yet handed to a protocol
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._reading = False
        self._deferred_since: float | None = None
        self._slot = state.slot(index)

    def start(self) -> None:
        self.sock.setblocking(False)
        self._resume()

    def close(self) -> None:
        self.closed = True
        self._pause()
        self._slot.set(metrics.S_READY, 0.0)  # a draining worker takes no share

    def refresh(self) -> None:
        """Publish the current count (connections close between accepts)."""
        if not self.closed:
            self._publish(self._count())

    async def wait_closed(self) -> None:
        return None

    # -- accepting ----------------------------------------------------------------------
    def _on_readable(self) -> None:
        for _ in range(BURST):
            if self.closed:
                return
            if not self._my_turn():
                now = time.monotonic()
                if self._deferred_since is None:
                    self._deferred_since = now
                if now - self._deferred_since < MAX_DEFER_S:
                    self._pause()
                    self._loop.call_later(RECHECK_S, self._resume)
                    return
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                self._deferred_since = None
                return  # another worker took it
            except OSError as exc:  # e.g. out of file descriptors: back off, keep serving
                log.error("accept() failed: %s", exc)
                self._pause()
                self._loop.call_later(0.1, self._resume)
                return
            self._deferred_since = None
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.pending += 1
            self._publish(self._count())
            self._loop.create_task(self._serve(conn))

    async def _serve(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self.factory, conn, ssl=self.ssl)
        except Exception as exc:  # a client that vanished during the TLS handshake
            log.debug("connection setup failed: %s", exc)
            with contextlib.suppress(OSError):
                conn.close()
        finally:
            self.pending -= 1

    def _my_turn(self) -> bool:
        mine = self._count()
        self._publish(mine)
        cells, fewest = self.state.cells, None
        for other in range(self.state.workers):
            if other == self.index:
                continue
            base = metrics.HEADER + metrics.SLOT * other
            if cells[base + metrics.S_READY] <= 0:
                continue  # starting, restarting or draining: it takes no share now
            count = cells[base + metrics.S_CONNECTIONS]
            fewest = count if fewest is None else min(fewest, count)
        return fewest is None or mine <= fewest

    def _count(self) -> int:
        return len(self.connections) + self.pending

    def _publish(self, count: int) -> None:
        self._slot.set(metrics.S_CONNECTIONS, float(count))

    def _pause(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.sock.fileno())
            self._reading = False

    def _resume(self) -> None:
        if not self._reading and not self.closed:
            self._loop.add_reader(self.sock.fileno(), self._on_readable)
            self._reading = True
