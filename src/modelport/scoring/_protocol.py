"""uvicorn's httptools protocol with bounded request heads.

httptools accepts request lines and headers of any size and any number, and uvicorn waits
forever for a head that never completes. This subclass answers 414 for a request line longer
than `max_header_bytes`, 431 for a longer header line, for more than `max_header_count` fields
or for a head that outgrows their product, and closes a connection whose head is not complete
`header_timeout_ms` after it opened or after the request's first byte (408 if part of a request
arrived). Each refusal is one JSON `{"message": ...}` answer and the connection is closed.
The per-request cost is a few integer operations; the clock is read only when a request begins.
"""

from __future__ import annotations

import json
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from modelport.scoring.config import ServerConfig


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing a request that is being refused."""


def protocol_class(config: ServerConfig) -> type[BoundedHttpToolsProtocol]:
    """The protocol uvicorn should run for `config` (its limits bound to a subclass)."""
    line = config.max_header_bytes
    count = config.max_header_count
    attrs = {
        "max_line": line,
        "max_fields": count,
        # like gunicorn's header buffer: every field at its largest, plus the request line
        "max_head": count * (line + 4) + line + 4,
        "head_timeout_s": config.header_timeout_ms / 1000.0,
    }
    return type("BoundedHttpToolsProtocol", (BoundedHttpToolsProtocol,), attrs)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    max_line = 8190
    max_fields = 100
    max_head = 100 * 8194 + 8194
    head_timeout_s = 20.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # When the head being read began (loop time); None while no head is being read.
        self.head_began: float | None = None
        self.head_bytes = 0
        self.fields = 0
        self.refusal: tuple[int, str] | None = None

    # ------------------------------------------------------------------ connection
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.head_began = self.loop.time()

    def data_received(self, data: bytes) -> None:
        # uvicorn's data_received, with the head budget and the refusals added.
        self._unset_keepalive_if_required()
        reading_head = self.head_began is not None
        if reading_head:
            self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.refusal is not None:  # raised by one of our callbacks
                self.refuse(*self.refusal)
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self.head_began is not None and self.head_bytes > self.max_head:
            self.refuse(431, f"The request head exceeds {self.max_head} bytes.")

    # ------------------------------------------------------------------ parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.head_began is None:  # a kept-alive connection's next request
            self.head_began = self.loop.time()
        self.fields = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_line:
            self.refusal = (414, f"The request line exceeds {self.max_line} bytes.")
            raise _Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields += 1
        if self.fields > self.max_fields:
            self.refusal = (431, f"The request has more than {self.max_fields} header fields.")
            raise _Refused
        if len(name) + len(value) + 2 > self.max_line:
            self.refusal = (431, f"A request header line exceeds {self.max_line} bytes.")
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.head_began = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.head_bytes = 0

    # ------------------------------------------------------------------ refusals
    def refuse(self, status: int, message: str) -> None:
        """Answer `status` with a JSON message and close the connection."""
        self.head_began = None
        if self.transport.is_closing():
            return
        body = json.dumps({"message": message}).encode()
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: application/json\r\n",
                    b"content-length: %d\r\n" % len(body),
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()

    def expire_head(self, now: float) -> None:
        """Close the connection if its head has been arriving for longer than the timeout."""
        began = self.head_began
        if began is None or now - began < self.head_timeout_s:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is still being answered (a pipelined head waits behind it)
        if self.head_bytes:
            self.refuse(408, "The request head was not received in time.")
        else:
            self.head_began = None
            self.transport.close()


def expire_slow_heads(connections: set[Any], now: float) -> None:
    """Close the connections whose heads are overdue (called about once a second)."""
    for conn in list(connections):
        expire = getattr(conn, "expire_head", None)
        if expire is not None:
            expire(now)
