"""The router's upstream client against real sockets on loopback: keep-alive reuse, chunked
answers, a kept-alive connection the server closed (retried once, on a new connection), HEAD,
a refused connect tried again for a moment, and a version that is not there."""

from __future__ import annotations

import asyncio

import pytest

from modelport.routing.upstream import UpstreamError, UpstreamPool


async def _server(handler) -> tuple[asyncio.AbstractServer, str]:  # type: ignore[no-untyped-def]
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


def test_keep_alive_chunked_stale_and_head() -> None:
    connections: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        served = 0
        try:
            while True:
                request = await _read_request(reader)
                served += 1
                if request.startswith(b"HEAD"):
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
                elif b"/chunked" in request:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-a: 1\r\n\r\n"
                        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                    )
                else:
                    body = request.split(b"\r\n\r\n", 1)[1]
                    writer.write(
                        b"HTTP/1.1 201 Created\r\ncontent-length: %d\r\n\r\n" % len(body) + body
                    )
                await writer.drain()
                if b"/close-after" in request:  # keep-alive promised, then closed while idle
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def scenario() -> None:
        server, url = await _server(handler)
        pool = UpstreamPool(url)
        for i in range(5):
            status, _, body = await pool.request("POST", "/x", [(b"x-i", b"%d" % i)], b"body%d" % i)
            assert (status, body) == (201, b"body%d" % i)
        assert len(connections) == 1  # one kept-alive connection for all five
        status, headers, body = await pool.request("GET", "/chunked", [], b"")
        assert (status, body, (b"x-a", b"1") in headers) == (200, b"abcde", True)
        await pool.request("GET", "/close-after", [], b"")
        await asyncio.sleep(0.05)  # the server has closed the idle connection
        status, _, body = await pool.request("POST", "/after", [], b"again")
        assert (status, body) == (201, b"again")
        status, _, body = await pool.request("HEAD", "/x", [], b"")
        assert (status, body) == (200, b"")
        server.close()
        await server.wait_closed()
        pool.close()
        with pytest.raises(UpstreamError, match="cannot connect"):
            await UpstreamPool(url).request("GET", "/", [], b"")

    asyncio.run(scenario())


def test_a_refused_connect_is_tried_again_for_a_moment() -> None:
    """A version's address that refuses at first and listens a moment later (a Service the
    cluster is still programming, a version restarting) gets the request: nothing was sent,
    so the connect is tried again, with pauses adding up to ~1.5 s, before a 502."""
    from modelport._net import free_port
    from modelport.routing.upstream import REFUSED_RETRIES_S

    port = free_port("127.0.0.1")

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        servers: list[asyncio.AbstractServer] = []

        async def listen() -> None:
            servers.append(await asyncio.start_server(handler, "127.0.0.1", port))

        # on the loop's own clock: the listener comes up long before the last try
        loop.call_later(REFUSED_RETRIES_S[0] * 2, lambda: loop.create_task(listen()))
        pool = UpstreamPool(f"http://127.0.0.1:{port}")
        status, _, body = await pool.request("GET", "/", [], b"")
        assert (status, body) == (200, b"ok")
        pool.close()
        servers[0].close()
        await servers[0].wait_closed()

    asyncio.run(scenario())
