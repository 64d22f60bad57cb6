"""Webhooks: documents of kind "webhook", and one signed HTTP delivery of an event.

A webhook names the event types it wants, a URL, optional filters on the event payload and a
secret. The events process (`dispatcher.py`) queues a delivery per matching event in the
delivery log and calls `send` until the receiver answers 2xx; the log keeps every attempt's
outcome for `modelport webhook deliveries ID`.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from modelport import settings
from modelport.errors import InvalidArgument, NotFound
from modelport.events import signing
from modelport.registry.events import (
    EventRecord,
    check_event_type,
    matches,
    parse_filters,
)

if TYPE_CHECKING:
    from modelport.workspace import Workspace

KIND = "webhook"
SUBSCRIBER = "webhook:"
TEST_EVENT = "webhook.test"


def create(
    workspace: Workspace,
    events: list[str],
    url: str,
    filters: list[str] | tuple[str, ...] = (),
    secret: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Record a webhook; it receives events committed from now on. Without `secret` one is
    generated (returned here once; `list` never shows it)."""
    if not events:
        raise InvalidArgument(
            "A webhook needs at least one event type.", hint="Pass --event model.registered."
        )
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidArgument(
            f"Webhook URL {url!r} is not an http(s) URL.",
            hint="Give the receiver's full address, e.g. https://ci.example.com/hooks/model.",
        )
    doc: dict[str, Any] = {
        "id": uuid.uuid4().hex[:12],
        "events": sorted({check_event_type(e) for e in events}),
        "url": url,
        "filters": [list(f) for f in parse_filters(list(filters))],
        "secret": secret or secrets.token_hex(24),
        "description": description,
        "created_time": time.time(),
        "after_event": workspace.store.last_event_id(),  # no history replayed to it
    }
    workspace.store.put_document(KIND, doc["id"], doc)
    return doc


def get(workspace: Workspace, webhook_id: str) -> dict[str, Any]:
    try:
        return workspace.store.get_document(KIND, webhook_id)
    except NotFound:
        raise NotFound(
            f"No webhook with id '{webhook_id}' in this workspace.",
            hint="List webhooks with `modelport webhook list`.",
        ) from None


def list_all(workspace: Workspace) -> list[dict[str, Any]]:
    return workspace.store.list_documents(KIND)


def delete(workspace: Workspace, webhook_id: str) -> None:
    get(workspace, webhook_id)
    workspace.store.delete_document(KIND, webhook_id)


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The webhook as shown to users: everything but the secret."""
    return {k: v for k, v in doc.items() if k != "secret"}


def wants(doc: dict[str, Any], event: EventRecord) -> bool:
    return (
        event.id > int(doc.get("after_event", 0))
        and event.type in doc["events"]
        and matches(event.payload, doc.get("filters") or [])
    )


@dataclass
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


def body_of(event: EventRecord, webhook_id: str, delivery_id: int | None) -> bytes:
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "time": event.time,
            "payload": event.payload,
            "webhook_id": webhook_id,
            "delivery_id": delivery_id,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def send(doc: dict[str, Any], event: EventRecord, delivery_id: int | None = None) -> Outcome:
    """POST the event, signed; ok on any 2xx answer."""
    import httpx  # only the events process and `webhook test` send

    body = body_of(event, doc["id"], delivery_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "modelport-webhooks",
        signing.HEADER: signing.sign(doc["secret"], body),
        "Modelport-Event": event.type,
        "Modelport-Event-Id": str(event.id),
        "Modelport-Delivery": str(delivery_id or ""),
    }
    try:
        response = httpx.post(
            doc["url"],
            content=body,
            headers=headers,
            timeout=float(settings.get("MODELPORT_WEBHOOK_TIMEOUT_S")),
        )
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}")
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code, None)
    return Outcome(
        False, response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"
    )


def send_test(workspace: Workspace, webhook_id: str) -> Outcome:
    """Send a `webhook.test` event now (not through the outbox), as MLflow's test endpoint."""
    doc = get(workspace, webhook_id)
    event = EventRecord(0, TEST_EVENT, time.time(), {"webhook_id": webhook_id, "test": True})
    return send(doc, event)


def retry_delay(attempts: int) -> float:
    """Exponential back-off after `attempts` failures, capped (MODELPORT_WEBHOOK_RETRY_BASE_S, _MAX_S)."""
    base = float(settings.get("MODELPORT_WEBHOOK_RETRY_BASE_S"))
    cap = float(settings.get("MODELPORT_WEBHOOK_RETRY_MAX_S"))
    return float(min(cap, base * 2 ** max(0, attempts - 1)))
