"""Registry events: what changed, written to the outbox in the same transaction as the change.

A consumer (`modelport.events`) reads them in id order from a durable cursor, so an event
is never lost when a process dies between the change and its delivery: either both the
change and its event committed, or neither did. Ids increase monotonically and, on every
backend, in commit order (PostgreSQL writers of events queue on an advisory lock), so a
cursor that has passed an id never skips a later commit with a smaller one.

This module knows nothing of deployment: the control plane builds its events with the
helpers here (`service_state_changed`, `endpoint_traffic_changed`) and hands them to the
store with the document it writes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from modelport.errors import InvalidArgument

MODEL_REGISTERED = "model.registered"
MODEL_DELETED = "model.deleted"
MODEL_TAGS_CHANGED = "model.tags_changed"
SERVICE_STATE_CHANGED = "service.state_changed"
ENDPOINT_TRAFFIC_CHANGED = "endpoint.traffic_changed"
TRIGGER_COMPLETED = "trigger.completed"  # a followed service tried a new version (see events)

EVENT_TYPES = (
    MODEL_REGISTERED,
    MODEL_DELETED,
    MODEL_TAGS_CHANGED,
    SERVICE_STATE_CHANGED,
    ENDPOINT_TRAFFIC_CHANGED,
    TRIGGER_COMPLETED,
)


@dataclass(frozen=True)
class NewEvent:
    """An event to write with a change (the store assigns its id and time)."""

    type: str
    payload: dict[str, Any]


@dataclass
class EventRecord:
    id: int
    type: str
    time: float
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DeliveryRecord:
    """One event handed to one subscriber ("webhook:<id>", "trigger:<service>")."""

    id: int
    subscriber: str
    event_id: int
    status: str  # pending | delivered | failed | (triggers) applied | rejected
    attempts: int = 0
    next_time: float = 0.0
    last_error: str | None = None
    last_status_code: int | None = None
    created_time: float = 0.0
    updated_time: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PENDING = "pending"


def check_event_type(name: str) -> str:
    if name not in EVENT_TYPES:
        raise InvalidArgument(
            f"Unknown event type {name!r}.", hint=f"Use one of: {', '.join(EVENT_TYPES)}."
        )
    return name


# -- payloads -------------------------------------------------------------------------------
def model_event(kind: str, record: Any) -> NewEvent:
    """model.registered / model.deleted / model.tags_changed for a ModelRecord."""
    return NewEvent(
        kind,
        {
            "name": record.name,
            "version": record.version,
            "id": f"{record.name}:{record.version}",
            "tags": dict(record.tags),
            "properties": dict(record.properties),
            "framework": record.framework,
            "description": record.description,
        },
    )


def service_state_changed(
    name: str,
    state: str,
    previous: str | None,
    *,
    error: str | None = None,
    revision: int | None = None,
    models: list[str] | None = None,
    tags: dict[str, str] | None = None,
) -> NewEvent:
    """What the control plane writes with a service document whose recorded state changed."""
    return NewEvent(
        SERVICE_STATE_CHANGED,
        {
            "name": name,
            "state": state,
            "previous_state": previous,
            "error": error,
            "revision": revision,
            "models": list(models or []),
            "tags": dict(tags or {}),
        },
    )


def endpoint_traffic_changed(
    endpoint: str,
    traffic: dict[str, float],
    previous: dict[str, float] | None = None,
    *,
    tags: dict[str, str] | None = None,
) -> NewEvent:
    """For the endpoint control plane: pass it with the endpoint document it writes
    (`store.put_document("endpoint", name, doc, event=endpoint_traffic_changed(...))`), or
    alone with `store.append_event(...)`. `traffic` maps version name → percent."""
    return NewEvent(
        ENDPOINT_TRAFFIC_CHANGED,
        {
            "name": endpoint,
            "traffic": {str(k): float(v) for k, v in traffic.items()},
            "previous_traffic": (
                {str(k): float(v) for k, v in previous.items()} if previous is not None else None
            ),
            "tags": dict(tags or {}),
        },
    )


# -- filters ----------------------------------------------------------------------------------
def parse_filters(items: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """`name=x`, `tag:stage=prod`, `state=Healthy` → (key, value) pairs."""
    out: list[tuple[str, str]] = []
    for item in items:
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key or (key.startswith("tag:") and len(key) == 4):
            raise InvalidArgument(
                f"Invalid filter {item!r}.",
                hint="Write KEY=VALUE: name=mymodel, tag:stage=prod, state=Healthy.",
            )
        out.append((key, value))
    return out


def matches(payload: dict[str, Any], filters: list[tuple[str, str]] | list[list[str]]) -> bool:
    """Every filter holds: `tag:k` compares payload["tags"][k], any other key payload[key]."""
    tags = payload.get("tags") or {}
    for key, value in filters:
        if key.startswith("tag:"):
            if tags.get(key[4:]) != value:
                return False
        elif str(payload.get(key)) != value:
            return False
    return True
