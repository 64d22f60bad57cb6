"""Shadow versions: copies of live traffic whose answers are never returned, dropped and
counted when the bounded queue is full, reported from the endpoint's sink."""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from pathlib import Path

import httpx

from modelport.core import Model, Workspace
from tests.conftest import run_cli
from tests.endpoints.conftest import HEADER, deploy_endpoint, wait_for


def test_shadow_copies_are_never_answered_and_dropped_when_full(
    ews: Workspace, tiny: Model
) -> None:
    endpoint = deploy_endpoint(ews, "shadowed", tiny, shadow_queue_size=2, shadow_workers=1)
    shadow = endpoint.create_version(
        "s",
        shadow_percentile=100,
        environment_variables={"ECHO_REVISION": "9", "ECHO_DELAY_S": "1.0"},
    )
    assert shadow.shadow_percentile == 100 and shadow.traffic_percentile == 0

    sent: list[str] = []
    answers: list[tuple[int, str | None, str]] = []

    def caller() -> None:
        with httpx.Client(timeout=60) as client:
            for _ in range(5):
                request_id = str(uuid.uuid4())
                sent.append(request_id)
                r = client.post(
                    endpoint.scoring_uri, content=b'"x"', headers={"x-request-id": request_id}
                )
                answers.append((r.status_code, r.headers.get(HEADER), r.json()["revision"]))

    threads = [threading.Thread(target=caller) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # the caller always gets the primary's answer, never the (slow, different) shadow's
    assert answers == [(200, "a", "1")] * 30

    def settled() -> bool:
        report = endpoint.get_shadow_report().get("s")
        return report is not None and report["pairs"] + report["dropped"] == 30

    wait_for(settled, "the shadow copies were never all answered or dropped", timeout=120)
    report = endpoint.get_shadow_report()["s"]
    # one worker on a 1 s version and a queue of 2: most of 30 copies cannot wait
    assert report["dropped"] > 0 and report["pairs"] >= 1
    assert report["agreement"] == 0.0  # revision 9 answers differ from revision 1's
    assert report["shadow_error_rate"] == 0.0 and report["primary_error_rate"] == 0.0
    assert report["shadow_ms"]["p50"] >= 1000 > report["primary_ms"]["p50"] is not None

    sink = Path(ews.path) / "endpoints" / "shadowed" / "shadow" / "shadow.jsonl"
    pairs = [json.loads(line) for line in sink.read_text().splitlines()]
    assert len(pairs) == report["pairs"]
    assert {p["request_id"] for p in pairs} <= set(sent)
    assert {
        (p["primary"], p["shadow"], p["primary_status"], p["shadow_status"]) for p in pairs
    } == {("a", "s", 200, 200)}

    base = endpoint.scoring_uri.removesuffix("score")
    metrics = httpx.get(base + "metrics").text
    assert f'modelport_router_shadow_dropped_total{{version="s"}} {report["dropped"]}' in metrics

    # a shadow can be tried directly before it gets traffic; such requests are not copied
    r = httpx.post(endpoint.scoring_uri, content=b'"x"', headers={HEADER: "s"}, timeout=60)
    assert (r.headers[HEADER], r.json()["revision"]) == ("s", "9")

    cli = run_cli("endpoint", "shadow-report", "shadowed", "-w", str(ews.path), "-o", "json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["s"]["pairs"] == report["pairs"]
    table = run_cli("endpoint", "shadow-report", "shadowed", "-w", str(ews.path))
    assert "Dropped" in table.stdout and " s " in table.stdout.replace("│", " ")

    # the counts survive a restart of the router's server: killed by PID, restarted by its
    # supervisor, it carries on from the counts it saved
    home = Path(ews.path) / "endpoints" / "shadowed"

    def saved() -> dict:
        return json.loads((home / "servers" / "0.json").read_text())["metrics"]

    wait_for(
        lambda: saved()["shadow_dropped"].get("s") == report["dropped"],
        "the server never saved its counts",
    )
    killed = json.loads((home / "status.json").read_text())["server"][0]
    os.kill(killed, signal.SIGKILL)

    def restarted() -> bool:
        status = json.loads((home / "status.json").read_text())
        return status["state"] == "Running" and status["server"][0] != killed

    wait_for(restarted, "the supervisor never restarted the server", timeout=120)
    after = endpoint.get_shadow_report()["s"]
    assert (after["dropped"], after["pairs"]) == (report["dropped"], report["pairs"])
    metrics = httpx.get(base + "metrics", timeout=60).text
    assert f'modelport_router_shadow_dropped_total{{version="s"}} {report["dropped"]}' in metrics
    assert f'modelport_router_shadow_requests_total{{version="s"}} {report["pairs"]}' in metrics
