"""The ASGI application: the reference's routes plus health, metrics and the V2 protocol.

A bare ASGI callable with a dict of routes: no middleware stack, so the per-request path is
a header scan, the body read, the run() call and one JSON dump.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from modelport._version import __version__
from modelport.scoring import _http, metrics, v2
from modelport.scoring._http import Headers, RequestHeaders
from modelport.scoring._memory import HeapTrimmer
from modelport.scoring.config import ServerConfig
from modelport.scoring.dataplane import (
    RUN_FAILED as RUN_FAILED_VERDICT,
)
from modelport.scoring.dataplane import (
    SERVED,
    TIMED_OUT,
    UNAUTHORIZED,
    DataPlane,
    Verdict,
    script_arguments,
)
from modelport.scoring.entry import EntryScript
from modelport.scoring.runner import Runner
from modelport.scoring.schema import SwaggerDocs, SwaggerUnavailable

log = logging.getLogger("modelport.scoring")

HEADER_LIMIT = 100
RUN_FAILED = "An unexpected error occurred in scoring script. Check the logs for more info."
INTERNAL = "An unexpected internal error occurred. Check the logs for more info."
NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)
NOT_ALLOWED = "The method is not allowed for the requested URL."
JSON_CT = (b"content-type", b"application/json")
HTML_CT = (b"content-type", b"text/html; charset=utf-8")
TEXT_CT = (b"content-type", b"text/plain; charset=utf-8")
FAILED_FALSE = (b"x-ms-run-function-failed", b"False")
FAILED_TRUE = (b"x-ms-run-function-failed", b"True")
CONNECTION_CLOSE = (b"connection", b"close")

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


class ScoringApp:
    """One worker's ASGI app around a loaded entry script."""

    def __init__(
        self,
        script: EntryScript | None,
        config: ServerConfig,
        runner: Runner | None,
        state: metrics.SharedState,
        worker_index: int = 0,
    ) -> None:
        self.script = script
        self.config = config
        self.runner = runner
        self.state = state
        self.worker_index = worker_index
        self.metrics = state.slot(worker_index)
        self.docs = SwaggerDocs(script.run if script and script.has_schema else None, config)
        self.plane = DataPlane(config, runner, self.metrics)
        # Set while the worker drains: every response asks its client to reconnect, so busy
        # keep-alive clients move to the next generation before idle connections are closed.
        self.draining = False
        version = config.server_version or f"modelport/{__version__}"
        self.server_header = (b"x-ms-server-version", version.encode())
        self.cors = _cors_origins(config.cors_origins)
        self.max_body = config.max_request_body_bytes
        self.heap = HeapTrimmer()
        self.v2 = v2.V2Protocol(self.plane, state, script, config, self.respond, self.heap)
        self.routes: dict[str, tuple[Callable[..., Awaitable[None]], tuple[str, ...], bool]] = {
            "/": (self._health, ("GET",), True),
            "/score": (self._score, ("GET", "POST", "OPTIONS"), True),
            "/swagger.json": (self._swagger, ("GET",), True),
            "/healthz": (self._healthz, ("GET",), False),
            "/readyz": (self._readyz, ("GET",), False),
            "/metrics": (self._metrics, ("GET",), False),
        }

    # ------------------------------------------------------------------ dispatch
    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        path: str = scope["path"]
        route = self.routes.get(path)
        if route is None:
            if path.startswith("/v2"):
                await self.v2.dispatch(scope, receive, send)
                return
            self.metrics.observe(2, 404, None)
            await self.send_error(send, 404, NOT_FOUND, None)
            return
        handler, methods, with_ids = route
        method = scope["method"]
        if method not in methods:
            if method == "OPTIONS" or (method == "HEAD" and "GET" in methods):
                await self.respond(send, 200, [HTML_CT], b"", None)
                return
            self.metrics.observe(2, 405, None)
            await self.send_error(send, 405, NOT_ALLOWED, None)
            return
        req = RequestHeaders(scope["headers"])
        ids: Headers | None = None
        if with_ids:
            ids = await self.request_ids(req, send)
            if ids is None:
                return
        await handler(scope, receive, send, req, ids)

    async def request_ids(self, req: RequestHeaders, send: Send) -> Headers | None:
        """The reference's x-request-id / x-ms-request-id / x-ms-client-request-id rules."""
        rid = req.request_id or str(uuid.uuid4()).encode()
        if len(rid) > HEADER_LIMIT:
            await self.send_error(
                send, 431, f"x-request-id must not exceed {HEADER_LIMIT} characters", []
            )
            return None
        client = req.client_id or b""
        legacy = req.legacy_id or b""
        if legacy:
            client = client or legacy
        else:
            legacy = client or rid
        ids = [(b"x-request-id", rid)]
        if len(legacy) > HEADER_LIMIT or len(client) > HEADER_LIMIT:
            await self.send_error(
                send,
                431,
                f"x-ms-request-id and x-ms-client-request-id must not exceed {HEADER_LIMIT} "
                "characters",
                ids,
            )
            return None
        ids.append((b"x-ms-request-id", legacy))
        if client:
            ids.append((b"x-ms-client-request-id", client))
        if req.trace_id is not None:
            ids.append((b"traceid", req.trace_id))
        return ids

    async def respond(
        self, send: Send, status: int, headers: Headers, body: bytes, ids: Headers | None
    ) -> None:
        headers.append((b"content-length", str(len(body)).encode()))
        if ids is not None:
            headers.append(self.server_header)
            headers.extend(ids)
        if self.draining and CONNECTION_CLOSE not in headers:
            headers.append(CONNECTION_CLOSE)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def send_error(
        self, send: Send, status: int, message: str, ids: Headers | None, failed: bool = False
    ) -> None:
        body = json.dumps({"message": message}).encode()
        await self.respond(
            send, status, [JSON_CT, FAILED_TRUE if failed else FAILED_FALSE], body, ids
        )

    # ------------------------------------------------------------------ simple routes
    async def _health(
        self, scope: Any, receive: Receive, send: Send, req: RequestHeaders, ids: Any
    ) -> None:
        await self.respond(send, 200, [HTML_CT], b"Healthy", ids)

    async def _healthz(
        self, scope: Any, receive: Receive, send: Send, req: RequestHeaders, ids: Any
    ) -> None:
        await self.respond(send, 200, [JSON_CT], b'{"status":"alive"}', None)

    async def _readyz(
        self, scope: Any, receive: Receive, send: Send, req: RequestHeaders, ids: Any
    ) -> None:
        if self.state.ready:
            await self.respond(send, 200, [JSON_CT], b'{"status":"ready"}', None)
        else:
            await self.respond(send, 503, [JSON_CT], b'{"status":"starting"}', None)

    async def _metrics(
        self, scope: Any, receive: Receive, send: Send, req: RequestHeaders, ids: Any
    ) -> None:
        ct = (b"content-type", b"text/plain; version=0.0.4; charset=utf-8")
        await self.respond(send, 200, [ct], self.state.render(), None)

    async def _swagger(
        self, scope: Any, receive: Receive, send: Send, req: RequestHeaders, ids: Any
    ) -> None:
        version = _http.parse_query(scope.get("query_string", b"")).get("version")
        try:
            body = self.docs.get(None if version is None else str(version))
        except SwaggerUnavailable as exc:
            await self.send_error(send, 404, str(exc), ids)
            return
        await self.respond(send, 200, [JSON_CT, FAILED_FALSE], body, ids)

    # ------------------------------------------------------------------ errors, in one place
    async def send_verdict(self, send: Send, verdict: Verdict, ids: Headers | None) -> int:
        """The reference's error shape (`{"message": ...}`) for a request that was not served."""
        if verdict.kind == UNAUTHORIZED:
            headers = [JSON_CT, (b"www-authenticate", b"Bearer")]
            body = json.dumps({"message": verdict.message}).encode()
            await self.respond(send, 401, headers, body, ids)
            return 401
        failed = verdict.kind in (TIMED_OUT, RUN_FAILED_VERDICT)
        message = RUN_FAILED if verdict.kind == RUN_FAILED_VERDICT else verdict.message
        await self.send_error(send, verdict.status, message, ids, failed=failed)
        return verdict.status

    # ------------------------------------------------------------------ /score
    async def _score(
        self, scope: dict[str, Any], receive: Receive, send: Send, req: RequestHeaders, ids: Headers
    ) -> None:
        start = perf_counter()
        status = 500
        try:
            status = await self._score_inner(scope, receive, send, req, ids)
        finally:
            self.metrics.observe(0, status, perf_counter() - start)
            self.heap.release()

    async def _score_inner(
        self, scope: dict[str, Any], receive: Receive, send: Send, req: RequestHeaders, ids: Headers
    ) -> int:
        refused = self.plane.authorize(req.authorization) or self.plane.admit()
        if refused is not None:
            return await self.send_verdict(send, refused, ids)
        script = self.script
        assert script is not None
        method = scope["method"]
        try:
            body = await _http.read_body(receive, self.max_body, req.content_length)
        except _http.BodyTooLarge as exc:
            # closing: the rest of the body is never read
            headers = [JSON_CT, FAILED_FALSE, CONNECTION_CLOSE]
            await self.respond(send, 413, headers, json.dumps({"message": str(exc)}).encode(), ids)
            return 413
        self.heap.pending += len(body)
        cors = self._cors_headers(req, scope) if self.cors else []
        if script.mode == "raw":
            kwargs: dict[str, Any] = {script.data_param: _http.werkzeug_request(scope, body)}
        elif method == "OPTIONS":
            await self.respond(send, 200, [HTML_CT, FAILED_FALSE, *cors], b"", ids)
            return 200
        else:
            parsed = self.parse_input(script, method, scope, req, body)
            if isinstance(parsed, tuple):
                status, message = parsed
                await self.send_error(send, status, message, ids)
                return status
            kwargs = parsed
        if script.wants_headers:
            kwargs["request_headers"] = _http.title_headers(scope["headers"])
        return await self.call_run(kwargs, send, ids, cors)

    def parse_input(
        self,
        script: EntryScript,
        method: str,
        scope: dict[str, Any],
        req: RequestHeaders,
        body: bytes,
    ) -> dict[str, Any] | tuple[int, str]:
        """run()'s keyword arguments, or (status, message) for a 4xx."""
        if script.mode == "string":
            if method == "GET":
                text = json.dumps(_http.parse_query(scope.get("query_string", b"")))
                return {script.data_param: text}
            try:
                return {script.data_param: body.decode("utf-8")}
            except UnicodeDecodeError as exc:
                return 400, f"Input cannot be decoded as UTF-8: {exc}"
        if method == "GET":
            payload: Any = _http.parse_query(scope.get("query_string", b""))
        else:
            if not _is_json(req.content_type):
                return 415, "Expects Content-Type to be application/json"
            try:
                payload = _http.loads(body)
            except ValueError as exc:
                if body:
                    return 400, f"POST body could not be decoded as JSON: {exc}"
                return 400, "POST body is empty. Expecting a JSON dictionary."
            if not isinstance(payload, dict):
                return 400, "POST body should be a JSON dictionary."
        return script_arguments(script, payload)

    async def call_run(
        self, kwargs: dict[str, Any], send: Send, ids: Headers, extra: Headers
    ) -> int:
        verdict = await self.plane.infer(kwargs, ids[0][1].decode())
        if verdict.kind == SERVED:
            return await self.send_result(verdict.value, verdict.elapsed_ms, send, ids, extra)
        return await self.send_verdict(send, verdict, ids)

    async def send_result(
        self, value: Any, elapsed_ms: float, send: Send, ids: Headers, extra: Headers
    ) -> int:
        exec_ms = (b"x-ms-run-fn-exec-ms", f"{elapsed_ms:.3f}".encode())
        if hasattr(value, "iter_encoded") and hasattr(value, "status_code"):
            status, headers, body = _http.from_werkzeug(value)
            if status >= 500:
                headers = [h for h in headers if h[0] != b"x-ms-run-function-failed"]
                headers.append(FAILED_TRUE)
            headers.append(exec_ms)
            headers.extend(extra)
            await self._send_full(send, status, headers, body, ids)
            return status
        try:
            body = _http.dumps(value)
        except Exception:
            log.exception("the value run() returned cannot be serialised to JSON")
            await self.send_error(send, 500, INTERNAL, ids)
            return 500
        await self.respond(send, 200, [JSON_CT, FAILED_FALSE, exec_ms, *extra], body, ids)
        return 200

    async def _send_full(
        self, send: Send, status: int, headers: Headers, body: bytes, ids: Headers
    ) -> None:
        headers.append(self.server_header)
        headers.extend(ids)
        if self.draining:
            headers.append(CONNECTION_CLOSE)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _cors_headers(self, req: RequestHeaders, scope: dict[str, Any]) -> Headers:
        origin = req.origin
        if origin is None or not (b"*" in self.cors or origin in self.cors):
            return []
        allow = b"*" if b"*" in self.cors else origin
        out = [(b"access-control-allow-origin", allow), (b"vary", b"Origin")]
        if scope["method"] == "OPTIONS":
            out.append((b"access-control-allow-methods", b"GET, POST"))
            for name, value in scope["headers"]:
                if name == b"access-control-request-headers":
                    out.append((b"access-control-allow-headers", value))
        return out


def _is_json(content_type: bytes | None) -> bool:
    if not content_type:
        return False
    mime = content_type.split(b";", 1)[0].strip().lower()
    return mime == b"application/json" or (
        mime.startswith(b"application/") and mime.endswith(b"+json")
    )


def _cors_origins(value: str | None) -> set[bytes]:
    if not value:
        return set()
    return {o.strip().encode() for o in value.split(",") if o.strip()}


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
