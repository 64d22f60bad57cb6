"""The router's own HTTP/1.1 server (routing/protocol.py) against a real router process, on
raw loopback sockets: keep-alive and HTTP/1.0, pipelining, chunked and large bodies,
`Expect: 100-continue`, malformed requests, upgrade requests, callers that leave mid-body, a
body over the limit, and the graceful stop on SIGTERM (idle connections closed, the request in
flight finished, nothing new accepted)."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import psutil
import pytest

from modelport.core import Model, Workspace
from modelport.core.endpoint import Endpoint
from tests.endpoints.conftest import HEADER, clean_up, deploy_endpoint, wait_for

Answer = tuple[int, dict[str, str], bytes]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """One echo endpoint for the module: every case here leaves its router serving."""
    root = tmp_path_factory.mktemp("protocol")
    ws = Workspace.create(root / "ws")
    (root / "tiny.txt").write_text("a tiny model")
    made = deploy_endpoint(ws, "wire", Model.register(ws, root / "tiny.txt", "tiny"))
    yield made
    clean_up(ws)


def _address(endpoint: Endpoint) -> tuple[str, int]:
    host, port = endpoint.scoring_uri.split("//")[1].split("/")[0].rsplit(":", 1)
    return host, int(port)


def _connect(endpoint: Endpoint) -> tuple[socket.socket, BinaryIO]:
    conn = socket.create_connection(_address(endpoint), timeout=60)
    return conn, conn.makefile("rb")


def _read(reader: BinaryIO) -> Answer:
    """One response off the connection (Content-Length bodies: all the router sends)."""
    status_line = reader.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


def _closed(reader: BinaryIO) -> bool:
    """The router closed the connection: nothing more comes before its end (a connection
    left open would hit the socket's timeout instead)."""
    return reader.read() == b""


def _score(body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"POST /score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        + extra
        + b"content-length: %d\r\n\r\n" % len(body)
        + body
    )


def _echoed(answer: Answer) -> str:
    status, headers, body = answer
    assert (status, headers[HEADER]) == (200, "a"), answer
    return str(json.loads(body)["echo"])


def test_keep_alive_and_http_1_0(endpoint: Endpoint) -> None:
    conn, reader = _connect(endpoint)
    with conn:
        for i in range(3):  # HTTP/1.1: one connection for all
            conn.sendall(_score(b'"%d"' % i))
            answer = _read(reader)
            assert _echoed(answer) == f'"{i}"' and "connection" not in answer[1]
        conn.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        status, headers, body = _read(reader)
        assert (status, body, headers["connection"]) == (200, b"Healthy", "close")
        assert "date" in headers
        assert _closed(reader)

    conn, reader = _connect(endpoint)
    with conn:  # HTTP/1.0 closes unless asked to keep the connection
        conn.sendall(b"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
        assert _read(reader)[1]["connection"] == "keep-alive"
        conn.sendall(b"GET /-/routing HTTP/1.0\r\n\r\n")
        status, headers, body = _read(reader)
        assert (status, headers["connection"], json.loads(body)["endpoint"]) == (
            200,
            "close",
            "wire",
        )
        assert _closed(reader)


def test_pipelined_requests_are_answered_in_order(endpoint: Endpoint) -> None:
    conn, reader = _connect(endpoint)
    with conn:
        requests = [_score(b'"%d"' % i) for i in range(8)]
        requests.insert(3, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        conn.sendall(b"".join(requests))  # in one write: the router reads them all at once
        answers = [_read(reader) for _ in requests]
        assert answers[3][2] == b"Healthy"
        del answers[3]
        assert [_echoed(a) for a in answers] == [f'"{i}"' for i in range(8)]
        # the last of a pipeline may close the connection; those before it are answered
        conn.sendall(
            _score(b'"last-but-one"') + _score(b'"last"', b"connection: close\r\n") + _score(b"1")
        )
        assert _echoed(_read(reader)) == '"last-but-one"'
        answer = _read(reader)
        assert _echoed(answer) == '"last"' and answer[1]["connection"] == "close"
        assert _closed(reader)


def test_chunked_large_and_continued_bodies(endpoint: Endpoint) -> None:
    conn, reader = _connect(endpoint)
    with conn:
        # chunked, in pieces that split chunk sizes and data across writes
        head = b"POST /score HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
        for piece in (head + b"4\r\n", b'"abc\r\n3', b'\r\nde"\r\n0\r\n', b"\r\n"):
            conn.sendall(piece)
        assert _echoed(_read(reader)) == '"abcde"'
        # a body of 4 MB: many reads on the router's side
        big = b'"' + b"x" * (4 * 2**20) + b'"'
        conn.sendall(_score(big))
        assert len(_echoed(_read(reader))) == len(big)
        # Expect: 100-continue: the interim answer first, the body after it
        conn.sendall(_score(b"", b"expect: 100-continue\r\n").replace(b"length: 0", b"length: 5"))
        assert reader.readline() == b"HTTP/1.1 100 Continue\r\n" and reader.readline() == b"\r\n"
        conn.sendall(b'"cnt"')
        assert _echoed(_read(reader)) == '"cnt"'
        # a body declared over the router's limit: refused before a byte of it is sent
        conn.sendall(
            b"POST /score HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\n"
            b"content-length: 999999999999\r\n\r\n"
        )
        status, headers, body = _read(reader)
        assert (status, headers["connection"]) == (413, "close")
        assert "exceeds the limit" in json.loads(body)["message"]
        assert _closed(reader)


@pytest.mark.parametrize(
    "garbage",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nbad header line\r\n\r\n",
        b"POST /score HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"POST /score HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab",
    ],
)
def test_malformed_requests_get_400_and_the_router_carries_on(
    endpoint: Endpoint, garbage: bytes
) -> None:
    conn, reader = _connect(endpoint)
    with conn:
        conn.sendall(_score(b'"first"') + garbage)  # a good request before it is answered
        assert _echoed(_read(reader)) == '"first"'
        status, headers, body = _read(reader)
        assert (status, headers["connection"]) == (400, "close")
        assert body.startswith(b"Invalid HTTP request")
        assert _closed(reader)
    assert httpx.post(endpoint.scoring_uri, content=b'"x"').status_code == 200


def test_upgrade_requests_and_callers_that_leave(endpoint: Endpoint) -> None:
    conn, reader = _connect(endpoint)
    with conn:  # no protocol switch: answered as HTTP, then closed
        conn.sendall(
            b"GET / HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n"
        )
        status, headers, body = _read(reader)
        assert (status, body, headers["connection"]) == (200, b"Healthy", "close")
        assert _closed(reader)
    routing = endpoint.scoring_uri.removesuffix("score") + "-/routing"
    request = _score(b'"partial"')
    for sent in (request[:-5], request[: request.index(b"\r\n\r\n") + 4]):  # mid-body, head
        conn = socket.create_connection(_address(endpoint), timeout=60)
        conn.sendall(sent)
        wait_for(lambda: httpx.get(routing).json()["in_flight"] == {"a": 1}, "not counted")
        conn.close()
        wait_for(lambda: httpx.get(routing).json()["in_flight"] == {}, "still counted")
    assert httpx.post(endpoint.scoring_uri, content=b'"x"').status_code == 200


def test_sigterm_finishes_the_request_in_flight_and_accepts_nothing_new(
    endpoint: Endpoint,
) -> None:
    status = json.loads((Path(endpoint.folder) / "status.json").read_text())
    pid = status["server"][0]
    idle, idle_reader = _connect(endpoint)
    idle.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert _read(idle_reader)[2] == b"Healthy"
    held, held_reader = _connect(endpoint)
    body = b'"held until the stop"'
    held.sendall(_score(body)[:-3])
    routing = endpoint.scoring_uri.removesuffix("score") + "-/routing"
    wait_for(lambda: httpx.get(routing).json()["in_flight"] == {"a": 1}, "not counted")

    os.kill(pid, signal.SIGTERM)
    assert _closed(idle_reader)  # the idle keep-alive connection: closed at once
    assert psutil.pid_exists(pid)  # ... while the held request keeps the process draining
    late = socket.create_connection(_address(endpoint), timeout=60)
    late.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    # the draining process accepts nothing: the late caller waits in the backlog
    assert select.select([late], [], [], 1.0)[0] == []
    held.sendall(body[-3:])
    status_, headers, answered = _read(held_reader)
    assert (status_, headers["connection"], json.loads(answered)["echo"]) == (
        200,
        "close",
        body.decode(),
    )
    wait_for(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie", "")
    # the supervisor starts the server again on the same socket; the late caller is served
    late_reader = late.makefile("rb")
    assert _read(late_reader)[2] == b"Healthy"
    for conn in (idle, held, late):
        conn.close()
    new = json.loads((Path(endpoint.folder) / "status.json").read_text())
    assert new["server"][0] != pid
