"""Small HTTP helpers shared by the routes: bodies, query strings, JSON, werkzeug bridging."""

from __future__ import annotations

import io
import json
import sys
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from modelport.scoring.shims.aml_request import AMLRequest

Headers = list[tuple[bytes, bytes]]
_ORJSON_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


class BodyTooLarge(Exception):
    """The request body is (or says it is) larger than the server accepts."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The request body exceeds the limit of {limit} bytes; the service accepts larger "
            "bodies when started with a larger --max-request-body-bytes."
        )


async def read_body(receive: Any, limit: int, declared: bytes | None = None) -> bytes:
    """The whole body, never more than `limit` bytes of it: a Content-Length over the limit
    raises BodyTooLarge before a byte is read, a longer chunked body as soon as it passes it."""
    if declared is not None and int(declared) > limit:
        raise BodyTooLarge(limit)
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        if len(body) > limit:
            raise BodyTooLarge(limit)
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, set | frozenset):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    """orjson for speed (numpy included); the stdlib as a fallback for exotic values."""
    try:
        return orjson.dumps(value, default=_default, option=_ORJSON_OPTS)
    except TypeError:
        return json.dumps(value).encode()


def loads(body: bytes) -> Any:
    """orjson first; the stdlib (NaN, big ints, UTF-16) before giving up."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def parse_query(query: bytes) -> dict[str, Any]:
    """`a=1&b=[1,2]&a=x` -> {"a": [1, "x"], "b": [1, 2]} (values parsed as JSON when they can be)."""
    grouped: dict[str, list[str]] = {}
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        grouped.setdefault(key, []).append(value)
    parsed: dict[str, Any] = {}
    for key, values in grouped.items():
        items = [_maybe_json(v) for v in values]
        parsed[key] = items[0] if len(items) == 1 else items
    return parsed


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def title_headers(raw: Headers) -> dict[str, str]:
    """Request headers as the reference hands them to run(): `X-Custom-Header` keys."""
    out: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").title()
        text = value.decode("latin-1")
        out[key] = f"{out[key]},{text}" if key in out else text
    return out


def werkzeug_request(scope: dict[str, Any], body: bytes) -> AMLRequest:
    """The request object a @rawhttp run() receives, built from the ASGI scope."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    path = scope.get("raw_path") or scope["path"].encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path.decode("latin-1").split("?", 1)[0], encoding="latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in scope["headers"]:
        key = name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = text
        elif key == "CONTENT_LENGTH":
            continue
        else:
            key = f"HTTP_{key}"
            environ[key] = f"{environ[key]},{text}" if key in environ else text
    return AMLRequest(environ)


def from_werkzeug(response: Any) -> tuple[int, Headers, bytes]:
    """Status, headers and body of a werkzeug/Flask Response (e.g. an AMLResponse)."""
    body = b"".join(response.iter_encoded())
    headers = [
        (k.lower().encode("latin-1"), str(v).encode("latin-1"))
        for k, v in response.headers.items()
        if k.lower() != "content-length"
    ]
    headers.append((b"content-length", str(len(body)).encode()))
    return int(response.status_code), headers, body


class RequestHeaders:
    """What the routes need from the headers, found in one pass."""

    __slots__ = (
        "authorization",
        "client_id",
        "content_length",
        "content_type",
        "legacy_id",
        "origin",
        "request_id",
        "trace_id",
    )

    def __init__(self, raw: Headers) -> None:
        self.content_type = self.request_id = self.legacy_id = self.client_id = None
        self.content_length = None
        self.trace_id = self.authorization = self.origin = None
        for name, value in raw:
            if name == b"content-type":
                self.content_type = value
            elif name == b"content-length":
                self.content_length = value
            elif name == b"x-request-id":
                self.request_id = value
            elif name == b"x-ms-request-id":
                self.legacy_id = value
            elif name == b"x-ms-client-request-id":
                self.client_id = value
            elif name == b"authorization":
                self.authorization = value
            elif name == b"traceid":
                self.trace_id = value
            elif name == b"origin":
                self.origin = value
