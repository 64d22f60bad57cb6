"""Webhooks through the real events process to a real receiver on loopback: signed,
filtered, logged, at least once across a receiver killed mid-delivery and an events process
killed by SIGKILL."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from modelport._procs import process_alive
from modelport.core import Model, Workspace
from modelport.core.webhook import Webhook
from modelport.events import process
from tests.conftest import run_cli
from tests.events.conftest import SECRET, Receiver, wait_for


def _register(ws: Workspace, model_file: Path, name: str, n: int, **kw: object) -> list[int]:
    for _ in range(n):
        Model.register(ws, model_file, name, **kw)  # type: ignore[arg-type]
    return [e.id for e in ws.store.read_events(limit=10_000) if e.payload.get("name") == name]


def test_deliveries_are_signed_filtered_and_logged(
    events_ws: Workspace, receiver: Receiver, model_file: Path
) -> None:
    ws = events_ws
    by_name = Webhook.create(ws, "model.registered", receiver.url, ["name=alpha"], SECRET)
    by_tag = Webhook.create(
        ws, ["model.registered", "model.tags_changed"], receiver.url, ["tag:stage=prod"], SECRET
    )
    wrong = Webhook.create(ws, "model.registered", receiver.url, ["name=alpha"], "not-the-secret")
    assert process.running(ws) is not None  # started on demand by the first webhook

    Model.register(ws, model_file, "alpha")
    Model.register(ws, model_file, "beta", tags={"stage": "prod"})
    Model.register(ws, model_file, "beta", tags={"stage": "dev"})
    Model(ws, "beta", version=2).add_tags({"stage": "prod"})
    events = {(e.type, e.payload["id"]): e.id for e in ws.store.read_events()}

    expected = {
        ("model.registered", "alpha:1"),  # by_name
        ("model.registered", "beta:1"),  # by_tag
        ("model.tags_changed", "beta:2"),  # by_tag: its tags now match
    }
    wait_for(lambda: len(receiver.received()) >= 3, "the matching events never arrived")
    got = {(r["type"], r["payload"]["id"]) for r in receiver.received()}
    assert got == expected  # beta:2's registration (stage=dev) went nowhere
    assert {d["event_id"] for d in by_name.deliveries()} == {
        events[("model.registered", "alpha:1")]
    }
    assert {d["status"] for d in by_tag.deliveries()} == {"delivered"}

    # the receiver refuses the wrongly signed one (401): retried with back-off, error logged
    (bad,) = wait_for(lambda: [d for d in wrong.deliveries() if d["attempts"] >= 3], "no retries")
    assert bad["status"] == "pending" and bad["last_status_code"] == 401
    assert "HTTP 401" in bad["last_error"]
    assert len(receiver.received()) == 3  # nothing unsigned or wrongly signed got through


def test_every_event_arrives_after_the_receiver_dies_mid_delivery(
    events_ws: Workspace, tmp_path: Path, model_file: Path
) -> None:
    ws = events_ws
    receiver = Receiver(tmp_path)
    marker = tmp_path / "in-flight"
    receiver.start(hang_marker=marker)
    try:
        hook = Webhook.create(ws, "model.registered", receiver.url, secret=SECRET)
        _register(ws, model_file, "m", 5)
        wait_for(marker.exists, "no delivery reached the receiver")
        receiver.kill()  # SIGKILL with a delivery in flight
        ids = _register(ws, model_file, "m", 5)
        receiver.start()
        wait_for(lambda: receiver.ids() >= set(ids), "some events were never delivered")
        assert len(ids) == 10
        log = wait_for(
            lambda: (
                [d for d in hook.deliveries() if d["status"] == "delivered"] == hook.deliveries()
                and hook.deliveries()
            ),
            "deliveries not all marked delivered",
        )
        assert max(d["attempts"] for d in log) >= 2  # the interrupted one was sent again
    finally:
        receiver.kill()


def test_no_event_is_lost_when_the_events_process_is_killed(
    events_ws: Workspace, receiver: Receiver, model_file: Path
) -> None:
    ws = events_ws
    Webhook.create(ws, "model.registered", receiver.url, secret=SECRET)
    first = _register(ws, model_file, "k", 5)
    wait_for(lambda: receiver.ids() & set(first), "nothing delivered before the kill")
    info = process.running(ws)
    assert info is not None
    os.kill(info["pid"], signal.SIGKILL)
    wait_for(lambda: not process_alive(info["pid"], info["started"]), "still alive")
    ids = _register(ws, model_file, "k", 5)  # committed while no events process runs
    assert process.running(ws) is None

    status = run_cli("events", "status", "-w", str(ws.path), "-o", "json")
    assert status.returncode == 0, status.stderr
    restarted = process.running(ws)
    assert restarted is not None and restarted["pid"] != info["pid"]
    wait_for(lambda: receiver.ids() >= set(ids), "events committed during the outage were lost")
    assert len(ids) == 10


def test_the_webhook_cli(sqlite_ws: Workspace, receiver: Receiver) -> None:
    ws = sqlite_ws
    w = ["-w", str(ws.path)]
    try:
        made = run_cli(
            "webhook", "create", *w, "--event", "model.registered", "--url", receiver.url,
            "--filter", "tag:stage=prod", "--secret", SECRET, "-o", "json",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        hook_id = Webhook.list(ws)[0].id
        listed = run_cli("webhook", "list", *w)
        assert hook_id in listed.stdout and SECRET not in listed.stdout

        tested = run_cli("webhook", "test", *w, hook_id)
        assert tested.returncode == 0 and "HTTP 200" in tested.stdout, tested.stderr
        assert receiver.received()[0]["type"] == "webhook.test"

        shown = run_cli("webhook", "deliveries", *w, hook_id)
        assert shown.returncode == 0 and "Status" in shown.stdout

        bad = run_cli("webhook", "create", *w, "--event", "model.made", "--url", receiver.url)
        assert bad.returncode != 0 and "Unknown event type 'model.made'" in bad.stderr
        assert "Traceback" not in bad.stderr
        bad = run_cli("webhook", "create", *w, "--event", "model.registered", "--url", "ftp://x")
        assert "is not an http(s) URL" in bad.stderr and "Traceback" not in bad.stderr

        assert run_cli("webhook", "delete", *w, hook_id).returncode == 0
        assert Webhook.list(ws) == []
        gone = run_cli("webhook", "test", *w, hook_id)
        assert "No webhook with id" in gone.stderr and "Traceback" not in gone.stderr
    finally:
        process.stop(ws)
