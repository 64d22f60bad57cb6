"""The router's request handling: weighted choice per request, explicit version targeting,
auth, per-version metrics, shadow copies, and a routing table swapped in place on reload.
`RouterApp.handle` takes a parsed `Request` from the router's HTTP server (`protocol.py`) and
returns the whole response.

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
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from modelport._jsonfile import write_private_text
from modelport.routing import slots
from modelport.routing.metrics import RouterMetrics
from modelport.routing.protocol import Request, Response, date_header
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
from modelport.scoring._http import BodyTooLarge
from modelport.scoring.auth import Authenticator

Headers = list[tuple[bytes, bytes]]
JSON_CT = (b"content-type", b"application/json")
TEXT_CT = (b"content-type", b"text/plain")
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
# not passed on upstream: hop-by-hop, the caller's credentials (the version gets the
# router's), the version flag, and `expect` (the router answered it; its body goes in one)
_DROP = _HOP | {b"authorization", _VERSION_HEADER, b"expect"}
_HOP_ANSWER = _HOP | {_VERSION_HEADER}  # not passed back: the router names the version
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
        self.ids = RequestIds()
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
    async def handle(self, request: Request) -> Response:
        """The whole answer to one request: the router's own routes, or the chosen version's."""
        path, method = request.path, request.method
        if path.startswith("/-/") or path == "/" or path == "/metrics":
            own = await self._own(request, method, path)
            if own is not None:
                return own
        return await self._forward(request)

    async def _own(self, request: Request, method: str, path: str) -> Response | None:
        """The router's own routes; None for a request it forwards."""
        if method == "GET" and path == "/":
            return _respond(200, TEXT_CT, b"Healthy")
        if method == "GET" and path == "/metrics":
            total, _ = self._endpoint_metrics()
            return _respond(200, TEXT_CT, total.render())
        if method == "GET" and path == "/-/routing":
            return _respond(200, JSON_CT, orjson.dumps(self._routing()))
        if method == "POST" and path == "/-/reload":
            if not request.client.startswith(_LOOPBACK):
                return _message(403, "Reload is accepted from this machine only.")
            revision = self.reload()
            return _respond(200, JSON_CT, orjson.dumps({"revision": revision}))
        if method == "PUT" and path == "/-/table":
            return self._admin(request) or await self._put_table(request)
        if method == "GET" and path == "/-/counters":
            total, in_flight = self._endpoint_metrics()
            body = {
                "revision": self.table.revision,
                "metrics": total.dump(),
                "in_flight": in_flight,
            }
            return _respond(200, JSON_CT, orjson.dumps(body))
        if method == "GET" and path == "/-/shadow":
            refused = self._admin(request)
            if refused is not None:
                return refused
            pairs = read_pairs(Path(self.table.sink)) if self.table.sink else []
            return _respond(200, JSON_CT, orjson.dumps({"pairs": pairs}))
        return None

    async def _forward(self, request: Request) -> Response:
        table = self.table  # one table for the whole request, whatever a reload does meanwhile
        named, query = _named_version(request.headers, request.query)
        if named is not None:
            chosen = table.versions.get(named)
            if chosen is None:
                known = ", ".join(sorted(table.versions))
                return _message(
                    404, f"Endpoint '{table.endpoint}' has no version '{named}' (it has: {known})."
                )
        elif request.path == "/swagger.json":
            chosen = table.versions[table.default]
        else:
            chosen = table.choose(self.rng)
        name = chosen.name
        metrics = self.metrics
        metrics.enter(name)  # counted from the choice on: a drain waits for it
        try:
            return await self._proxy(request, table, chosen, named, query)
        finally:
            metrics.leave(name)

    async def _proxy(
        self,
        request: Request,
        table: RoutingTable,
        chosen: Upstream,
        named: str | None,
        query: str,
    ) -> Response:
        path, method, name = request.path, request.method, chosen.name
        # one pass over the headers: what goes upstream, the caller's credentials, its id
        headers: Headers = []
        authorization = request_id = None
        for key, value in request.headers:
            if key in _DROP:
                if key == b"authorization":
                    authorization = value
                continue
            if key == b"x-request-id":
                request_id = value
            headers.append((key, value))
        if self.auth is not None and _needs_auth(method, path):
            problem = self.auth.check(authorization)
            if problem is not None:
                field = "error" if path.startswith("/v2") else "message"
                # counted before the answer goes: a caller who reads /metrics next sees it
                self.metrics.refused(name, 401)
                return _respond(401, JSON_CT, orjson.dumps({field: problem}))
        try:
            body = await request.body(table.max_body_bytes)
        except BodyTooLarge as exc:
            self.metrics.refused(name, 413)
            return _message(413, str(exc))
        if request_id is None:
            request_id = self.ids.next()
            headers.append((b"x-request-id", request_id))
        target = request.raw_path.decode("latin-1")
        if query:
            target += "?" + query
        upstream_headers = headers
        if chosen.authorization:
            upstream_headers = [*headers, (b"authorization", chosen.authorization.encode())]
        started = time.perf_counter()
        assert self.client is not None
        try:
            status, answer_headers, content = await self.client.request(
                chosen.url, method, target, upstream_headers, body
            )
            out = [(k, v) for k, v in answer_headers if k.lower() not in _HOP_ANSWER]
        except Exception as exc:  # the version did not answer: say so, never hang
            self.metrics.upstream_errors[name] += 1
            status = 502
            content = orjson.dumps(
                {"message": f"Version '{name}' did not answer: {type(exc).__name__}: {exc}"}
            )
            out = [JSON_CT, date_header()]
        seconds = time.perf_counter() - started
        out.append((_VERSION_HEADER, name.encode()))
        self.metrics.answered(name, status, seconds)  # before the answer, as above
        if named is None and self.shadow is not None:
            # queued now, sent once the answer is written (offer never waits)
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
        return status, out, content

    def _admin(self, request: Request) -> Response | None:
        """None when the request carries the admin token of a router pod (the table names
        its file, `admin_token_file`); else the 404 or 401 answer."""
        token_file = self.table.admin_token_file
        if not token_file:
            return _message(404, "This router takes its table from its folder only.")
        headers = dict(request.headers)
        token = Path(token_file).read_bytes().strip()
        given = headers.get(ADMIN_HEADER) or headers.get(b"authorization", b"").removeprefix(
            b"Bearer "
        )
        if not hmac.compare_digest(given.strip(), token):
            return _message(401, "The admin token is missing or wrong.")
        return None

    async def _put_table(self, request: Request) -> Response:
        """A new routing table from the control plane when it is not on this machine (a
        router pod), with the admin token (`_admin`). Body `{"table": {...}, "files":
        {"keys.json": ..., "token_secret": ...}}`: the credential files are replaced first
        (the authenticator re-reads a changed file on the next request), then the table,
        then every server process reloads (the supervisor forwards SIGHUP); the caller polls
        /-/routing for the revision."""
        try:
            body = orjson.loads(await request.body(2**24))
            table = RoutingTable.from_dict(body["table"])
            files = {n: str(body.get("files", {})[n]) for n in body.get("files", {})}
        except (ValueError, TypeError, KeyError, AttributeError, BodyTooLarge) as exc:
            return _message(400, f"Not a routing table: {exc!r}")
        for name, text in files.items():  # credentials: callers see them from the next request
            if name not in PUSHED_FILES:
                return _message(400, f"Not a file the router takes: {name!r}.")
            write_private_text(self.folder / name, text)
        write_table(self.folder, table)
        os.kill(os.getppid(), signal.SIGHUP)  # the supervisor: every server process reloads
        return _respond(202, JSON_CT, orjson.dumps({"revision": table.revision}))

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


class RequestIds:
    """Random (version 4) UUIDs for requests that come without an `x-request-id`, as the
    scoring server makes them, from 4 KiB of urandom at a time: `str(uuid.uuid4())` is a
    system call and two objects a request (~2% of the router's CPU when profiled)."""

    BATCH = 256

    def __init__(self) -> None:
        self._hex = ""
        self._at = 0

    def next(self) -> bytes:
        if self._at >= len(self._hex):
            self._hex, self._at = os.urandom(16 * self.BATCH).hex(), 0
        h, self._at = self._hex[self._at : self._at + 32], self._at + 32
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}".encode()


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


def _respond(status: int, content_type: tuple[bytes, bytes], body: bytes) -> Response:
    """An answer of the router's own (a forwarded one carries its version's date)."""
    return status, [content_type, date_header()], body


def _message(status: int, message: str) -> Response:
    return _respond(status, JSON_CT, orjson.dumps({"message": message}))


__all__ = ["RouterApp", "Upstream"]
