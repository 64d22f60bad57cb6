"""The router's ASGI app: weighted choice per request, explicit version targeting, auth,
per-version metrics, shadow copies, and a routing table swapped in place on reload.

Own routes: `/` (liveness), `/metrics`, `/swagger.json` (the default version's, or the
targeted one's), `/-/routing` (what it serves: revision, weights, requests in flight per
version, shadow counts; never upstream addresses or keys), `GET /-/counters` (the counters
as JSON, for a control plane that sums several router pods) and `POST /-/reload` (from this
machine only); with the admin token of a router pod, `PUT /-/table` (a new table) and
`GET /-/shadow` (this pod's shadow pairs). Everything else is forwarded to the chosen version
as it came, with the answering version named in the `x-modelport-version` response header.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import random
import signal
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from modelport._jsonfile import write_private_text
from modelport.routing import slots
from modelport.routing.metrics import RouterMetrics
from modelport.routing.shadow import PairSink, ShadowCopier, ShadowJob, read_pairs
from modelport.routing.table import (
    APPLIED,
    VERSION_HEADER,
    VERSION_QUERY,
    RoutingTable,
    Upstream,
    read_table,
    write_json,
    write_table,
)
from modelport.routing.upstream import Upstreams
from modelport.scoring._http import BodyTooLarge, read_body
from modelport.scoring.auth import Authenticator

Headers = list[tuple[bytes, bytes]]
JSON_CT = (b"content-type", b"application/json")
_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
    b"host",
    b"content-length",
}
_VERSION_HEADER = VERSION_HEADER.encode()
_LOOPBACK = ("127.", "::1", "localhost")
PUSHED_FILES = ("keys.json", "token_secret")  # what PUT /-/table may write beside the table
# The admin token's header: through the Kubernetes API server's pod proxy (how the control
# plane reaches router pods off the node's network) `Authorization` never arrives: the API
# server consumes it. `Authorization: Bearer <token>` is taken too.
ADMIN_HEADER = b"x-modelport-admin-token"


class RouterApp:
    """One server process of the router; `slot` of `slots` on the supervisor's socket."""

    def __init__(self, folder: Path, slot: int = 0, slots: int = 1) -> None:
        self.folder, self.slot, self.slots = folder, slot, slots
        import psutil

        self.started = psutil.Process().create_time()  # what process_alive compares
        self._saved_changes = -1
        self._saver: asyncio.Task[None] | None = None
        self.rng = random.Random()
        self.metrics = RouterMetrics()
        self.table = read_table(folder)
        self.auth = _authenticator(self.table)
        self.client: Upstreams | None = None
        self.shadow: ShadowCopier | None = None

    # -- the table ------------------------------------------------------------------------
    def reload(self) -> int:
        """Swap in the table on disk; requests in flight finish on the version they chose."""
        table = read_table(self.folder)
        if (table.keys_file, table.token_secret_file) != (
            self.table.keys_file,
            self.table.token_secret_file,
        ):
            self.auth = _authenticator(table)
        self.table = table
        if self.client is not None:
            self.client.forget_others({u.url for u in table.versions.values()})
        self.metrics.reloads += 1
        self.save()
        write_json(self.folder / APPLIED, {"revision": table.revision, "pid": os.getpid()})
        return table.revision

    # -- this process's state file ----------------------------------------------------------
    def save(self) -> None:
        self._saved_changes = self.metrics.changes
        slots.save(
            self.folder,
            self.slot,
            {
                "pid": os.getpid(),
                "started": self.started,
                "revision": self.table.revision,
                "in_flight": {k: v for k, v in self.metrics.in_flight.items() if v},
                "metrics": self.metrics.dump(),
            },
        )

    async def _save_when_changed(self) -> None:
        while True:
            await asyncio.sleep(slots.SAVE_EVERY_S)
            if self.metrics.changes != self._saved_changes:
                self.save()

    def _endpoint_metrics(self) -> tuple[RouterMetrics, dict[str, int]]:
        """Counters and in-flight counts summed over the endpoint's live server processes."""
        total = RouterMetrics()
        total.absorb(self.metrics.dump())
        in_flight: dict[str, int] = {k: v for k, v in self.metrics.in_flight.items() if v}
        for other in slots.live_slots(self.folder, self.slots, skip=self.slot):
            total.absorb(other.get("metrics", {}))
            for version, n in other.get("in_flight", {}).items():
                in_flight[version] = in_flight.get(version, 0) + int(n)
        total.in_flight.update(in_flight)
        return total, {k: v for k, v in in_flight.items() if v}

    async def startup(self) -> None:
        # the counts of this slot's previous process (killed, restarted) carry on
        previous = slots.load(self.folder, self.slot).get("metrics")
        if previous:
            self.metrics.absorb(previous)
        self.client = Upstreams()
        table = self.table
        sink = (
            PairSink(Path(table.sink), table.sink_max_bytes, table.sink_backups)
            if table.sink
            else None
        )
        self.shadow = ShadowCopier(
            self.client, self.metrics, table.shadow_queue, table.shadow_workers, sink
        )
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reload)
        self.reload()  # a table written while this process started is not missed
        self._saver = asyncio.ensure_future(self._save_when_changed())

    async def shutdown(self) -> None:
        if self._saver is not None:
            self._saver.cancel()
        if self.shadow is not None:
            await self.shadow.close()
        if self.client is not None:
            self.client.close()
        self.save()

    # -- dispatch ---------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if method == "GET" and path == "/":
            await _respond(send, 200, [(b"content-type", b"text/plain")], b"Healthy")
        elif method == "GET" and path == "/metrics":
            total, _ = self._endpoint_metrics()
            await _respond(send, 200, [(b"content-type", b"text/plain")], total.render())
        elif method == "GET" and path == "/-/routing":
            await _respond(send, 200, [JSON_CT], orjson.dumps(self._routing()))
        elif method == "POST" and path == "/-/reload":
            if not _from_loopback(scope):
                await _message(send, 403, "Reload is accepted from this machine only.")
                return
            revision = self.reload()
            await _respond(send, 200, [JSON_CT], orjson.dumps({"revision": revision}))
        elif method == "PUT" and path == "/-/table":
            if await self._admin(scope, send):
                await self._put_table(scope, receive, send)
        elif method == "GET" and path == "/-/counters":
            total, in_flight = self._endpoint_metrics()
            body = {
                "revision": self.table.revision,
                "metrics": total.dump(),
                "in_flight": in_flight,
            }
            await _respond(send, 200, [JSON_CT], orjson.dumps(body))
        elif method == "GET" and path == "/-/shadow":
            if await self._admin(scope, send):
                pairs = read_pairs(Path(self.table.sink)) if self.table.sink else []
                await _respond(send, 200, [JSON_CT], orjson.dumps({"pairs": pairs}))
        else:
            await self._forward(scope, receive, send)

    async def _forward(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        table = self.table  # one table for the whole request, whatever a reload does meanwhile
        path = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        named, query = _named_version(scope["headers"], query)
        if named is not None:
            chosen = table.versions.get(named)
            if chosen is None:
                known = ", ".join(sorted(table.versions))
                await _message(
                    send,
                    404,
                    f"Endpoint '{table.endpoint}' has no version '{named}' (it has: {known}).",
                )
                return
        elif path == "/swagger.json":
            chosen = table.versions[table.default]
        else:
            chosen = table.choose(self.rng)
        name = chosen.name
        self.metrics.enter(name)  # counted from the choice on: a drain waits for it
        try:
            await self._proxy(scope, receive, send, table, chosen, named, query)
        finally:
            self.metrics.leave(name)

    async def _proxy(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        table: RoutingTable,
        chosen: Upstream,
        named: str | None,
        query: str,
    ) -> None:
        path, method = scope["path"], scope["method"]
        authorization = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                authorization = value
        if self.auth is not None and _needs_auth(method, path):
            problem = self.auth.check(authorization)
            if problem is not None:
                field = "error" if path.startswith("/v2") else "message"
                # counted before the answer goes: a caller who reads /metrics next sees it
                self.metrics.refused(chosen.name, 401)
                await _respond(send, 401, [JSON_CT], orjson.dumps({field: problem}))
                return
        try:
            body = await read_body(receive, table.max_body_bytes)
        except BodyTooLarge as exc:
            self.metrics.refused(chosen.name, 413)
            await _message(send, 413, str(exc))
            return
        headers: Headers = []
        request_id = None
        for key, value in scope["headers"]:
            if key in _HOP or key == b"authorization" or key == _VERSION_HEADER:
                continue
            if key == b"x-request-id":
                request_id = value
            headers.append((key, value))
        if request_id is None:
            request_id = str(uuid.uuid4()).encode()
            headers.append((b"x-request-id", request_id))
        target = (scope.get("raw_path") or path.encode()).decode("latin-1").split("?", 1)[0]
        target += f"?{query}" if query else ""
        upstream_headers = headers
        if chosen.authorization:
            upstream_headers = [*headers, (b"authorization", chosen.authorization.encode())]
        name = chosen.name
        started = time.perf_counter()
        assert self.client is not None
        try:
            status, answer_headers, content = await self.client.request(
                chosen.url, method, target, upstream_headers, body
            )
            out = [
                (k, v)
                for k, v in answer_headers
                if k.lower() not in _HOP and k.lower() != _VERSION_HEADER
            ]
        except Exception as exc:  # the version did not answer: say so, never hang
            self.metrics.upstream_errors[name] += 1
            status = 502
            content = orjson.dumps(
                {"message": f"Version '{name}' did not answer: {type(exc).__name__}: {exc}"}
            )
            out = [JSON_CT]
        seconds = time.perf_counter() - started
        out.append((_VERSION_HEADER, name.encode()))
        self.metrics.answered(name, status, seconds)  # before the answer, as above
        await _respond(send, status, out, content)
        if named is None and self.shadow is not None:
            for shadow in table.shadows_for(self.rng, chosen):
                self.shadow.offer(
                    ShadowJob(
                        shadow,
                        method,
                        target,
                        headers,
                        body,
                        request_id.decode("latin-1"),
                        name,
                        status,
                        seconds * 1000,
                        content,
                    )
                )

    async def _admin(self, scope: dict[str, Any], send: Any) -> bool:
        """True when the request carries the admin token of a router pod (the table names
        its file, `admin_token_file`); else it has been answered 404 or 401."""
        token_file = self.table.admin_token_file
        if not token_file:
            await _message(send, 404, "This router takes its table from its folder only.")
            return False
        headers = dict(scope["headers"])
        token = Path(token_file).read_bytes().strip()
        given = headers.get(ADMIN_HEADER) or headers.get(b"authorization", b"").removeprefix(
            b"Bearer "
        )
        if not hmac.compare_digest(given.strip(), token):
            await _message(send, 401, "The admin token is missing or wrong.")
            return False
        return True

    async def _put_table(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """A new routing table from the control plane when it is not on this machine (a
        router pod), with the admin token (`_admin`). Body `{"table": {...}, "files":
        {"keys.json": ..., "token_secret": ...}}`: the credential files are replaced first
        (the authenticator re-reads a changed file on the next request), then the table,
        then every server process reloads (the supervisor forwards SIGHUP); the caller polls
        /-/routing for the revision."""
        try:
            body = orjson.loads(await read_body(receive, 2**24))
            table = RoutingTable.from_dict(body["table"])
            files = {n: str(body.get("files", {})[n]) for n in body.get("files", {})}
        except (ValueError, TypeError, KeyError, AttributeError, BodyTooLarge) as exc:
            await _message(send, 400, f"Not a routing table: {exc!r}")
            return
        for name, text in files.items():  # credentials: callers see them from the next request
            if name not in PUSHED_FILES:
                await _message(send, 400, f"Not a file the router takes: {name!r}.")
                return
            write_private_text(self.folder / name, text)
        write_table(self.folder, table)
        os.kill(os.getppid(), signal.SIGHUP)  # the supervisor: every server process reloads
        await _respond(send, 202, [JSON_CT], orjson.dumps({"revision": table.revision}))

    def _routing(self) -> dict[str, Any]:
        table = self.table
        total, in_flight = self._endpoint_metrics()
        return {
            "endpoint": table.endpoint,
            "revision": table.revision,
            "default": table.default,
            "versions": {
                u.name: {"weight": u.weight, "shadow": u.shadow, "control": u.control}
                for u in table.versions.values()
            },
            "in_flight": in_flight,  # summed over the server processes
            "shadow": total.shadow_stats(),
            "servers": self.slots,
            "shadow_queued": self.shadow.queue.qsize() if self.shadow else 0,
        }

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _authenticator(table: RoutingTable) -> Authenticator | None:
    if not table.keys_file and not table.token_secret_file:
        return None
    return Authenticator(table.keys_file, table.token_secret_file)


def _needs_auth(method: str, path: str) -> bool:
    """The requests a version itself would authenticate: scoring, V2 inference."""
    if method == "OPTIONS":
        return False
    return path == "/score" or (path.startswith("/v2/models/") and path.endswith("/infer"))


def _named_version(headers: Headers, query: str) -> tuple[str | None, str]:
    """The version a request names (header or query flag) and the query without the flag."""
    named = None
    for key, value in headers:
        if key == _VERSION_HEADER:
            named = value.decode("latin-1").strip()
    if VERSION_QUERY in query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if k != VERSION_QUERY]
        for k, v in pairs:
            if k == VERSION_QUERY:
                named = v
        query = urlencode(kept)
    return named, query


def _from_loopback(scope: dict[str, Any]) -> bool:
    client = scope.get("client")
    return client is not None and str(client[0]).startswith(_LOOPBACK)


async def _respond(send: Any, status: int, headers: Headers, body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _message(send: Any, status: int, message: str) -> None:
    await _respond(send, status, [JSON_CT], orjson.dumps({"message": message}))


__all__ = ["RouterApp", "Upstream"]
