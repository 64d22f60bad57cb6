"""The router's HTTP/1.1 server side: an asyncio Protocol on httptools' request parser.

Why not uvicorn (which served the router until session 6): the router only forwards whole
requests and answers whole responses, yet through ASGI each request built a scope dict, ran a
request-response cycle object, passed four event dicts through `receive`/`send` and wrote
the head and the body as two socket writes. Profiled at c=1 that was most of the router's
own Python time, and it kept the overhead above the 0.3 ms p50 target. Here a connection
parses with httptools (C), hands the router a `Request` when its headers are complete, and
writes each response in one `transport.write`.

What it keeps of an HTTP/1.1 server, each tested against the real router process
(tests/endpoints/test_protocol.py): keep-alive (HTTP/1.1 by default, HTTP/1.0 when asked),
pipelined requests answered in order (reading pauses while one waits), chunked and large
bodies, `Expect: 100-continue` (the `100 Continue` goes when the router first asks for the
body), 400 for a request it cannot parse (then the connection closes; the process carries
on), 500 if the router fails on a request, idle connections closed after `KEEP_ALIVE_S`,
and a graceful stop: `Server.drain` stops accepting, closes idle connections, lets requests
in flight finish (their connection closes after the answer) and waits up to `DRAIN_S`.

A response whose request was not read to its end (a 401 or 413 before the body, a client
that disconnected) closes its connection: the rest of that body is never mistaken for the
next request.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import httptools

from modelport.scoring._http import BodyTooLarge

Headers = list[tuple[bytes, bytes]]
Response = tuple[int, Headers, bytes]
Handler = Callable[["Request"], Awaitable[Response]]

KEEP_ALIVE_S = 30.0  # an idle connection is closed after this (swept every SWEEP_S)
SWEEP_S = 5.0
DRAIN_S = 60.0  # how long a stop waits for requests in flight
HIGH_WATER = 2**20  # body bytes buffered before anyone asked for them: reading pauses
BACKLOG = 2048
_STATUS = {
    s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus if s.value >= 200
}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_log = logging.getLogger("modelport.routing")


class ClientGone(ConnectionError):
    """The caller closed its connection before its request's body was complete."""


class _Date:
    """The `date` header value, formatted once a second by a timer rather than per answer."""

    value = email.utils.formatdate(usegmt=True).encode()

    @classmethod
    def tick(cls, loop: asyncio.AbstractEventLoop) -> None:
        cls.value = email.utils.formatdate(usegmt=True).encode()
        loop.call_later(1.0, cls.tick, loop)


def date_header() -> tuple[bytes, bytes]:
    return (b"date", _Date.value)


class Request:
    """One request as the router sees it: method, decoded path (for its own routes), the
    raw path and query (forwarded as they came), headers with lower-case names, and the
    body, read with `await body(limit)`."""

    __slots__ = (
        "_chunks",
        "_conn",
        "_limit",
        "_size",
        "_waiter",
        "client",
        "complete",
        "declared",
        "expect_continue",
        "headers",
        "http10",
        "keep_alive",
        "method",
        "path",
        "query",
        "raw_path",
    )

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self.headers: Headers = []
        self.method = self.path = self.query = ""
        self.raw_path = b""
        self.client = conn.client
        self.keep_alive = True
        self.http10 = self.expect_continue = self.complete = False
        self.declared: int | None = None  # Content-Length, when given
        self._chunks: list[bytes] = []
        self._size = 0
        self._limit: int | None = None
        self._waiter: asyncio.Future[None] | None = None

    async def body(self, limit: int) -> bytes:
        """The whole body, never more than `limit` bytes of it: a Content-Length over the
        limit raises BodyTooLarge before a byte is read, a longer chunked body as soon as it
        passes it; ClientGone when the caller disconnects first."""
        if (self.declared is not None and self.declared > limit) or self._size > limit:
            raise BodyTooLarge(limit)
        if not self.complete:
            conn = self._conn
            if conn.closed or conn.broken:
                raise ClientGone("the caller disconnected or sent what cannot be read")
            self._limit = limit
            if self.expect_continue:
                self.expect_continue = False
                conn.transport.write(_CONTINUE)
            self._waiter = conn.loop.create_future()
            conn.reading()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunks = self._chunks
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # -- fed by the connection's parser callbacks -------------------------------------------
    def _feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._limit is not None and self._size > self._limit:
            self._fail(BodyTooLarge(self._limit))

    def _finish(self) -> None:
        self.complete = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)

    @property
    def waiting(self) -> bool:
        """The router asked for the body and it is still coming."""
        return self._waiter is not None


class _Connection(asyncio.Protocol):
    """One client connection: parses requests, answers them one at a time, in order."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.handler = server.handler
        # kept: asyncio.get_running_loop() (and ensure_future) ask getpid(), a system call
        self.loop = server.loop
        self.parser = httptools.HttpRequestParser(self)
        # answer the first of pipelined requests even when it asked to close the connection
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.client = ""
        self.parsing: Request | None = None  # the request whose bytes are arriving
        self.active: Request | None = None  # the request being answered
        self.pipeline: deque[Request] = deque()  # complete heads waiting their turn
        self.closed = self.paused = self.write_paused = self.broken = False
        self.reason = ""  # why the parser stopped (broken)
        self.idle_sweeps = 0

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else ""
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        for request in (self.parsing, self.active):
            if request is not None:
                request._fail(ClientGone("the caller disconnected"))
        self.pipeline.clear()

    def data_received(self, data: bytes) -> None:
        self.idle_sweeps = 0
        if self.broken:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # no protocol switch here: the request is answered as plain HTTP, then the
            # connection closes (the parser reads nothing after an upgrade request)
            self.broken = True
            last = self.parsing or (self.pipeline[-1] if self.pipeline else self.active)
            if last is not None:
                last.keep_alive = False
            if self.parsing is not None:
                self._bad("the router does not switch protocols")
        except httptools.HttpParserError as exc:
            self._bad(str(exc) or type(exc).__name__)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.active is None:
            self._next()

    # -- httptools callbacks ------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.parsing = Request(self)
        self._url = b""

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.parsing is not None
        self.parsing.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        request = self.parsing
        assert request is not None
        parser = self.parser
        request.method = parser.get_method().decode("ascii")
        request.http10 = parser.get_http_version() == "1.0"
        request.keep_alive = parser.should_keep_alive()
        url = self._url
        if url.startswith(b"/"):
            raw_path, _, query = url.partition(b"?")
            query = query.partition(b"#")[0]
        else:  # absolute form (`GET http://host/path`), or `*`
            parsed = httptools.parse_url(url)
            raw_path, query = parsed.path or b"/", parsed.query or b""
        path = raw_path.decode("latin-1")
        request.raw_path, request.query = raw_path, query.decode("latin-1")
        request.path = unquote(path) if "%" in path else path
        for name, value in request.headers:
            if name == b"content-length":
                request.declared = int(value)
            elif name == b"expect" and value.lower() == b"100-continue":
                request.expect_continue = True
        if self.active is None and not self.pipeline and not self.write_paused:
            self._start(request)
        else:
            self.pipeline.append(request)
            self.reading()

    def on_body(self, body: bytes) -> None:
        request = self.parsing
        if request is None:
            return
        request._feed(body)
        if not request.waiting and request._size > HIGH_WATER:
            self.reading()

    def on_message_complete(self) -> None:
        request = self.parsing
        if request is not None:
            self.parsing = None
            request._finish()

    # -- answering ----------------------------------------------------------------------------
    def reading(self) -> None:
        """Pause reading while requests queue up behind the one being answered, or while a
        body piles up that nobody has asked for yet; resume otherwise."""
        parsing = self.parsing
        pause = bool(self.pipeline) or (
            parsing is not None and not parsing.waiting and parsing._size > HIGH_WATER
        )
        if pause != self.paused and not self.closed:
            self.paused = pause
            if pause:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    def _start(self, request: Request) -> None:
        self.active = request
        task = self.loop.create_task(self._answer(request))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    async def _answer(self, request: Request) -> None:
        try:
            status, headers, body = await self.handler(request)
        except ClientGone:  # no answer owed: the caller left, or its request broke off
            self.active = None
            if self.broken:
                self._bad(self.reason)
            else:
                self.close()
            return
        except Exception:
            _log.exception("The router failed on %s %s", request.method, request.path)
            status, headers, body = 500, [date_header()], b"Internal Server Error"
            request.keep_alive = False
        self.respond(request, status, headers, body)

    def respond(self, request: Request, status: int, headers: Headers, body: bytes) -> None:
        """Write the answer in one piece, then start the next pipelined request (or close)."""
        self.active = None
        if self.closed:
            return
        keep = request.keep_alive and request.complete and not self.server.draining
        parts = [_STATUS.get(status) or b"HTTP/1.1 %d \r\n" % status]
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        parts.append(b"content-length: %d\r\n" % len(body))
        if not keep:
            parts.append(b"connection: close\r\n")
        elif request.http10:
            parts.append(b"connection: keep-alive\r\n")
        parts += (b"\r\n", body)
        self.transport.write(b"".join(parts))
        if not keep:
            self.close()
        else:
            self._next()

    def _next(self) -> None:
        if self.pipeline and not self.write_paused and not self.closed:
            self._start(self.pipeline.popleft())
        self.reading()
        if self.broken and self.active is None and not self.pipeline:
            self._bad(self.reason)

    def _bad(self, reason: str) -> None:
        """400 for what the parser refused, after the answers owed before it; then close.
        A request cut off by it (its head taken, its body never to complete) is dropped."""
        self.broken, self.reason = True, reason
        cut, self.parsing = self.parsing, None
        if cut is not None:
            if cut in self.pipeline:
                self.pipeline.remove(cut)
            cut._fail(ClientGone(reason))  # if it is being answered, `_answer` comes back here
        if self.active is not None or self.pipeline:
            return  # `_next` comes back here when they are answered
        message = f"Invalid HTTP request: {reason}".encode()
        head = b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
        if not self.closed:
            self.transport.write(
                head + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(message) + message
            )
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.close()

    @property
    def idle(self) -> bool:
        """Nothing owed: no request whose head is complete (a half-sent head is dropped)."""
        return self.active is None and not self.pipeline


class Server:
    """The router's connections on a listening socket, and their graceful end."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.draining = False
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self._server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self, sock: Any) -> None:
        loop = self.loop = asyncio.get_running_loop()
        _Date.tick(loop)
        self._server = await loop.create_server(
            lambda: _Connection(self), sock=sock, backlog=BACKLOG
        )
        self._sweep()

    def _sweep(self) -> None:
        """Close connections idle for KEEP_ALIVE_S (counted in sweeps: no clock per request)."""
        limit = KEEP_ALIVE_S / SWEEP_S
        for conn in list(self.connections):
            if conn.idle:
                conn.idle_sweeps += 1
                if conn.idle_sweeps > limit:
                    conn.close()
        self._sweeper = self.loop.call_later(SWEEP_S, self._sweep)

    async def drain(self) -> None:
        """Stop accepting; finish the requests in flight (their connections close after the
        answer); close idle connections; give up on what is left after DRAIN_S."""
        self.draining = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_S
        while True:
            for conn in list(self.connections):
                if conn.idle:
                    conn.close()
            if not self.tasks and not self.connections:
                break
            if loop.time() > deadline:
                _log.warning("Stopping with %d requests unanswered", len(self.tasks))
                break
            await asyncio.sleep(0.05)
        for task in list(self.tasks):
            task.cancel()
        for conn in list(self.connections):
            conn.close()
