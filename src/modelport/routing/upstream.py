"""The router's client for its versions: keep-alive HTTP/1.1 connections, one pool per
version, requests written in one piece and answers parsed by httptools (C).

Why not httpx: measured in one process against the same uvicorn app, an httpx.AsyncClient
call costs ~1.5 ms of CPU, this one ~0.06 ms (bench/rollout.py reports what that means for the
router). The versions are our own scoring servers on this machine, so the client needs only
what they speak: HTTP/1.1 with Content-Length or chunked answers, keep-alive, optional TLS.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

import httptools

Headers = list[tuple[bytes, bytes]]
MAX_IDLE = 256  # idle connections kept per version
CONNECT_TIMEOUT_S = 10.0
REFUSED_RETRIES_S = (0.05, 0.1, 0.2, 0.4, 0.8)  # pauses before trying a refused connect again


class UpstreamError(Exception):
    """The version did not answer (refused, reset, closed early, timed out)."""


class _Answer:
    """httptools callbacks for one response."""

    def __init__(self) -> None:
        self.parser: httptools.HttpResponseParser | None = None
        self.keep_alive = False
        self.headers: Headers = []
        self.chunks: list[bytes] = []
        self.complete = False
        self.headers_done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True
        # asked here: after the message completes, llhttp answers False whatever was said
        assert self.parser is not None
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @property
    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()

    async def roundtrip(
        self, head: bytes, body: bytes, head_only: bool
    ) -> tuple[int, Headers, bytes, bool]:
        """(status, headers, body, reusable); UpstreamError with `.sent_nothing` set when the
        connection was closed before any byte of an answer came (safe to retry)."""
        answer = _Answer()
        parser = answer.parser = httptools.HttpResponseParser(answer)
        self.writer.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.writer.write(body)
        received = False
        while not answer.complete and not (head_only and answer.headers_done):
            try:
                data = await self.reader.read(65536)
            except OSError as exc:
                raise _closed(f"{type(exc).__name__}: {exc}", received) from None
            if not data:
                raise _closed("the connection closed before the answer was complete", received)
            received = True
            try:
                parser.feed_data(data)
            except httptools.HttpParserError as exc:
                raise UpstreamError(f"unreadable answer: {exc}") from None
        reusable = answer.keep_alive and not head_only
        return parser.get_status_code(), answer.headers, b"".join(answer.chunks), reusable


def _closed(message: str, received: bool) -> UpstreamError:
    error = UpstreamError(message)
    error.sent_nothing = not received  # type: ignore[attr-defined]
    return error


class UpstreamPool:
    """Connections to one version (`http://host:port` or `https://...`)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            # a version on this machine, reached by address: its certificate names its host
            self.ssl = ssl._create_unverified_context()
        self.host_header = parts.netloc.encode()
        self.idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        """A new connection; a refused one is tried again for a moment (nothing was sent, so
        it is safe): a version's address can refuse briefly while the cluster programs its
        Service for pods that just became ready, or a local version restarts."""
        for pause in (*REFUSED_RETRIES_S, None):
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, ssl=self.ssl, limit=2**20),
                    CONNECT_TIMEOUT_S,
                )
            except ConnectionRefusedError as exc:
                if pause is None:
                    raise UpstreamError(
                        f"cannot connect to {self.host}:{self.port}: {exc}"
                    ) from None
                await asyncio.sleep(pause)
            except (OSError, TimeoutError) as exc:
                raise UpstreamError(f"cannot connect to {self.host}:{self.port}: {exc}") from None
            else:
                return _Connection(reader, writer)
        raise AssertionError("unreachable")

    async def request(
        self, method: str, target: str, headers: Headers, body: bytes
    ) -> tuple[int, Headers, bytes]:
        lines = [f"{method} {target} HTTP/1.1\r\n".encode(), b"host: ", self.host_header, b"\r\n"]
        for name, value in headers:
            lines += [name, b": ", value, b"\r\n"]
        lines.append(b"content-length: %d\r\n\r\n" % len(body))
        head = b"".join(lines)
        head_only = method == "HEAD"
        for attempt in (0, 1):
            reused = False
            conn = None
            while self.idle:
                candidate = self.idle.pop()
                if candidate.usable:
                    conn, reused = candidate, True
                    break
                candidate.close()
            if conn is None:
                conn = await self._connect()
            try:
                status, out, content, reusable = await conn.roundtrip(head, body, head_only)
            except UpstreamError as exc:
                conn.close()
                # a kept-alive connection the version closed meanwhile: it never saw this
                # request, so it goes once more on a new connection
                if attempt == 0 and reused and getattr(exc, "sent_nothing", False):
                    continue
                raise
            except BaseException:
                conn.close()  # cancelled mid-answer: the connection is in an unknown state
                raise
            if reusable and len(self.idle) < MAX_IDLE:
                self.idle.append(conn)
            else:
                conn.close()
            return status, out, content
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


class Upstreams:
    """One pool per version URL, for the router and its shadow copier."""

    def __init__(self) -> None:
        self.pools: dict[str, UpstreamPool] = {}

    async def request(
        self, url: str, method: str, target: str, headers: Headers, body: bytes
    ) -> tuple[int, Headers, bytes]:
        pool = self.pools.get(url)
        if pool is None:
            pool = self.pools[url] = UpstreamPool(url)
        return await pool.request(method, target, headers, body)

    def forget_others(self, urls: set[str]) -> None:
        """Close the pools of versions no longer routed to."""
        for url in [u for u in self.pools if u not in urls]:
            self.pools.pop(url).close()

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()
