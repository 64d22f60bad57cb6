"""The registry's event outbox on SQLite and PostgreSQL: every model change writes its event
in the same transaction, ids increase in commit order, the cursor moves with its deliveries."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from modelport.core import Model, Workspace
from modelport.errors import InvalidArgument
from modelport.registry import events as ev


def _engine(ws: Workspace) -> sa.Engine:
    store = ws.store
    return getattr(store, "sql", store).engine  # type: ignore[no-any-return]


def test_model_changes_write_their_events(ws: Workspace, model_file: Path) -> None:
    m = Model.register(ws, model_file, "alpha", tags={"stage": "dev"})
    m.add_tags({"stage": "prod"})
    m.add_tags({"stage": "prod"})  # no change, no event
    m.update(description="only the description")  # tags unchanged: no event
    m.delete()
    events = ws.store.read_events()
    assert [e.type for e in events] == [
        ev.MODEL_REGISTERED,
        ev.MODEL_TAGS_CHANGED,
        ev.MODEL_DELETED,
    ]
    registered, changed, deleted = events
    assert registered.payload["id"] == "alpha:1" and registered.payload["tags"] == {"stage": "dev"}
    assert changed.payload["tags"] == {"stage": "prod"}
    assert changed.payload["previous_tags"] == {"stage": "dev"}
    assert deleted.payload["name"] == "alpha" and deleted.payload["version"] == 1
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert events[0].time <= events[1].time <= events[2].time
    assert ws.store.last_event_id() == deleted.id
    assert ws.store.get_event(changed.id) == changed


def test_a_registration_that_fails_leaves_no_event(ws: Workspace, model_file: Path) -> None:
    # a row the version counter does not know about makes the model insert fail
    with _engine(ws).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO models (name, version, body, created_time) VALUES ('beta', 1, '{}', 0)"
            )
        )
    with pytest.raises(sa.exc.IntegrityError):
        Model.register(ws, model_file, "beta")
    assert ws.store.read_events() == []


def test_a_document_and_its_event_commit_together(ws: Workspace) -> None:
    event = ev.endpoint_traffic_changed("ep", {"blue": 90, "green": 10}, {"blue": 100})
    ws.store.put_document("endpoint", "ep", {"name": "ep"}, event=event)
    (written,) = ws.store.read_events()
    assert written.type == ev.ENDPOINT_TRAFFIC_CHANGED
    assert written.payload["traffic"] == {"blue": 90, "green": 10}

    broken = ev.NewEvent(ev.ENDPOINT_TRAFFIC_CHANGED, {"not json": object()})
    with pytest.raises(TypeError):
        ws.store.put_document("endpoint", "ep2", {"name": "ep2"}, event=broken)
    assert [d["name"] for d in ws.store.list_documents("endpoint")] == ["ep"]
    assert len(ws.store.read_events()) == 1


def test_concurrent_registrations_get_increasing_ids_in_commit_order(
    ws: Workspace, model_file: Path
) -> None:
    errors: list[BaseException] = []

    def register(i: int) -> None:
        try:
            for _ in range(5):
                Model.register(ws, model_file, f"m{i % 2}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    events = ws.store.read_events(limit=1000)
    assert len(events) == 20
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == 20
    for name in ("m0", "m1"):  # versions appear in the order they committed
        versions = [e.payload["version"] for e in events if e.payload["name"] == name]
        assert versions == list(range(1, 11))


def test_the_cursor_moves_with_its_deliveries(ws: Workspace, model_file: Path) -> None:
    Model.register(ws, model_file, "gamma")
    Model.register(ws, model_file, "gamma")
    first, second = ws.store.read_events()
    assert ws.store.get_cursor("c") == 0
    ws.store.advance_cursor("c", first.id, [("webhook:x", first.id)])
    ws.store.advance_cursor("c", second.id, [("webhook:x", first.id), ("webhook:x", second.id)])
    assert ws.store.get_cursor("c") == second.id
    queued = ws.store.due_deliveries("webhook:", now=1e18)
    assert sorted(d.event_id for d in queued) == [first.id, second.id]  # no duplicate
    ws.store.update_delivery(queued[0].id, status="delivered", attempts=1)
    assert len(ws.store.due_deliveries("webhook:", now=1e18)) == 1
    assert ws.store.due_deliveries("trigger:", now=1e18) == []
    log = ws.store.list_deliveries("webhook:x")
    assert {d.status for d in log} == {"delivered", "pending"}


def test_filters_match_names_tags_and_fields() -> None:
    payload = {"name": "m", "state": "Healthy", "tags": {"stage": "prod"}}
    assert ev.matches(payload, ev.parse_filters(["name=m", "tag:stage=prod"]))
    assert ev.matches(payload, ev.parse_filters(["state=Healthy"]))
    assert not ev.matches(payload, ev.parse_filters(["tag:stage=dev"]))
    assert not ev.matches(payload, ev.parse_filters(["name=other"]))
    with pytest.raises(InvalidArgument, match="KEY=VALUE"):
        ev.parse_filters(["stage"])
    with pytest.raises(InvalidArgument, match="Unknown event type"):
        ev.check_event_type("model.created")
