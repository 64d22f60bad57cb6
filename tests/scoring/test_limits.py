"""Bounded requests: body size (413), request head size (414/431), slow heads (closed), memory
returned after large bodies, and other clients served throughout. Real servers on port 0."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.scoring.conftest import Server

LIMIT = 1_000_000
LIMITED = ("--max-request-body-bytes", str(LIMIT), "--header-timeout-ms", "1000")


@pytest.fixture(scope="module")
def limited(app_root: Path) -> Iterator[Server]:
    server = Server(app_root, "body_length.py", *LIMITED)
    yield server
    server.stop()


def _connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.settimeout(30)
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes, bool]:
    """(status, headers, body, closed): reads until the server closes or a full response."""
    data = b""
    closed = False
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")[1:]
                    if line.lower().startswith(b"content-length:")
                ),
                None,
            )
            if length is not None and len(rest) >= length and b"connection: close" not in head:
                break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines and lines[0].startswith("HTTP/1.1 "), data[:200]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if not closed:
        sock.settimeout(5)
        try:
            closed = sock.recv(1) == b""
        except (ConnectionResetError, TimeoutError):
            closed = False
    return int(lines[0].split()[1]), headers, body, closed


def _is_closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def test_content_length_over_the_limit_is_413_before_the_body_is_sent(limited: Server) -> None:
    with _connect(limited) as sock:
        sock.sendall(
            b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n" % (LIMIT + 1)
        )
        status, headers, body, closed = _read_response(sock)  # no body byte was sent
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert "1000000 bytes" in json.loads(body)["message"]
    assert headers["connection"] == "close" and closed


def test_an_http_client_sending_too_much_reads_the_413(limited: Server) -> None:
    r = httpx.post(f"{limited.url}/score", content=b"x" * (3 * LIMIT), timeout=30)
    assert r.status_code == 413 and "message" in r.json()


def test_chunked_body_over_the_limit_is_413_and_closed(limited: Server) -> None:
    with _connect(limited) as sock:
        sock.sendall(
            b"POST /score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: text/plain\r\n\r\n"
        )
        chunk = b"y" * 65536
        for _ in range(LIMIT // len(chunk) + 2):  # past the limit, and never the last chunk
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, _, body, closed = _read_response(sock)
    assert status == 413 and "message" in json.loads(body)
    assert closed


def test_bodies_up_to_the_limit_are_served(limited: Server) -> None:
    exact = limited.client.post("/score", content=b"z" * LIMIT)
    assert exact.status_code == 200 and exact.json()["length"] == LIMIT

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"c" * (LIMIT // 10)

    chunked = limited.client.post("/score", content=chunks())
    assert chunked.status_code == 200 and chunked.json()["length"] == LIMIT


def test_v2_infer_is_bounded_too(server_factory, app_root: Path) -> None:
    server = server_factory(
        "ridge_numpy.py", "--max-request-body-bytes", "1000", model_dir=app_root / "seed-model"
    )
    r = server.client.post(
        "/v2/models/ML-service/infer", content=b"{" + b" " * 2000 + b"}", timeout=30
    )
    assert r.status_code == 413 and "error" in r.json()


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(10_000))
        + b"\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(100))
        + b"\r\n",
    ],
    ids=["1MB-header", "9000-byte-header", "10000-headers", "101-headers"],
)
def test_oversized_heads_are_431(limited: Server, head: bytes) -> None:
    with _connect(limited) as sock:
        # refused before the whole head was read: the answer is still there to read
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        status, _, body, closed = _read_response(sock)
    assert status == 431 and "message" in json.loads(body)
    assert closed


def test_a_long_request_line_is_414(limited: Server) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /score?q=" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body, closed = _read_response(sock)
    assert status == 414 and "message" in json.loads(body) and closed


def test_heads_within_the_limits_are_served(limited: Server) -> None:
    headers = {f"x-h{i}": "v" * 100 for i in range(90)}
    headers["x-big"] = "b" * 8000
    r = limited.client.get("/score?" + "a" * 4000, headers=headers)
    assert r.status_code == 200


def test_a_client_trickling_its_head_is_closed(limited: Server) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(0.2)
        deadline = time.monotonic() + 30
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                sock.sendall(b"X")  # one byte at a time, never finishing the header line
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            closed = data == b"" or data.startswith(b"HTTP/1.1 408")
    assert closed, "the server kept a connection whose head never completed"


def test_a_silent_connection_is_closed(limited: Server) -> None:
    with _connect(limited) as sock:
        sock.settimeout(30)
        assert _is_closed(sock)


def _worker(server: Server) -> psutil.Process:
    (child,) = psutil.Process(server.proc.pid).children()
    return child


def test_memory_returns_near_the_baseline_after_large_bodies(app_root: Path) -> None:
    row = b"[1,2,3,4,5,6,7,8,9,10],"
    rows = 20_000_000 // len(row)  # a 20 MB JSON body: 870,000 rows for the numpy sample
    body = b'{"data": [' + row * rows + b"[1,2,3,4,5,6,7,8,9,10]]}"
    server = Server(app_root, "ridge_numpy.py", model_dir=app_root / "seed-model")
    try:
        worker = _worker(server)
        small = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}
        for _ in range(20):
            assert server.client.post("/score", json=small).status_code == 200
        baseline = worker.memory_info().rss

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(body), 65536):
                yield body[start : start + 65536]

        headers = {"Content-Type": "application/json"}
        for content in (body, chunks()):  # by Content-Length, then chunked
            r = server.client.post("/score", content=content, headers=headers, timeout=120)
            assert r.status_code == 200 and len(r.json()) == rows + 1
            del r
        grown = worker.memory_info().rss - baseline
        # the input alone becomes a 70 MB array in the worker; all of it must be given back
        assert grown < 2 * len(body), f"the worker kept {grown / 1e6:.0f} MB after 20 MB bodies"
    finally:
        server.stop()


def test_other_clients_are_served_throughout(app_root: Path) -> None:
    server = Server(app_root, "body_length.py", *LIMITED, workers=1)
    stop = threading.Event()
    outcomes: dict[str, object] = {}

    def trickle() -> None:
        with _connect(server) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    sock.sendall(b"X")
                    if sock.recv(65536) == b"":
                        outcomes["trickler closed"] = True
                        return
                except TimeoutError:
                    continue
                except OSError:
                    outcomes["trickler closed"] = True
                    return

    def flood() -> None:
        with _connect(server) as sock:
            sock.sendall(
                b"POST /score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: text/plain\r\n\r\n"
            )
            chunk = b"f" * 65536
            try:
                while not stop.is_set():
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                outcomes["flood refused"] = True

    try:
        threads = [threading.Thread(target=f, daemon=True) for f in (trickle, trickle, flood)]
        for t in threads:
            t.start()
        codes = []
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while (time.monotonic() < deadline and len(outcomes) < 2) or len(codes) < 20:
                codes.append(client.post("/score", content=b"ok").status_code)
        assert set(codes) == {200}
        assert outcomes == {"trickler closed": True, "flood refused": True}
    finally:
        stop.set()
        server.stop()


def test_the_limits_are_flags_and_environment_variables(app_root: Path) -> None:
    from modelport.scoring.config import ServerConfig, server_args

    script = str(app_root / "body_length.py")
    config = ServerConfig.from_env(
        {"MODELPORT_MAX_HEADER_COUNT": "50", "MODELPORT_HEADER_TIMEOUT_MS": "5000"},
        entry_script=script,
        max_request_body_bytes=1234,
    )
    assert (config.max_request_body_bytes, config.max_header_count) == (1234, 50)
    args = server_args(config)
    for flag, value in (
        ("--max-request-body-bytes", "1234"),
        ("--max-header-count", "50"),
        ("--header-timeout-ms", "5000"),
    ):
        assert args[args.index(flag) + 1] == value
    assert "--max-header-bytes" not in args  # left at its default
    with pytest.raises(
        Exception, match="max-request-body-bytes=0 is not valid: must be a positive"
    ):
        ServerConfig.from_env({}, entry_script=script, max_request_body_bytes=0)


def test_a_deployment_sets_its_own_body_limit(service_ws, tmp_path: Path) -> None:
    from modelport.configs import DeploymentConfig
    from modelport.core import Model
    from modelport.core.model import InferenceConfig
    from modelport.environments import Environment
    from tests.scoring.conftest import SCRIPTS

    dc = tmp_path / "deploymentconfig.json"
    dc.write_text(json.dumps({"computeType": "local", "workers": 1, "maxRequestBodyBytes": 5000}))
    config = DeploymentConfig.from_file(dc)
    assert config.max_request_body_bytes == 5000
    inference = InferenceConfig(
        entry_script=str(SCRIPTS / "body_length.py"), environment=Environment.current()
    )
    service = Model.deploy(service_ws, "bounded", [], inference, config)
    service.wait_for_deployment()
    served = httpx.post(service.scoring_uri, content=b"a" * 5000, timeout=30)
    assert served.status_code == 200 and served.json()["length"] == 5000
    refused = httpx.post(service.scoring_uri, content=b"a" * 5001, timeout=30)
    assert refused.status_code == 413 and "5000 bytes" in refused.json()["message"]
