"""Deployment triggers end to end: a followed local service takes a new version under a
request loop with no failed request, a smoke gate that fails keeps the serving version, a
version that cannot deploy leaves the old one serving, with the reasons recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelport.core import Model, Workspace
from modelport.core.model import InferenceConfig
from modelport.core.webservice import LocalWebservice, Webservice
from modelport.environments import Environment
from modelport.events import process, triggers
from modelport.registry import events as ev
from tests.conftest import run_cli
from tests.events.conftest import wait_for

SCRIPT = Path(__file__).parent / "scripts" / "versioned.py"
pytestmark = pytest.mark.slow


@pytest.fixture
def cd_ws(service_ws: Workspace) -> Iterator[Workspace]:
    yield service_ws
    process.stop(service_ws)  # before service_ws deletes the services


def _model(ws: Workspace, tmp_path: Path, version: str, **flags: bool) -> Model:
    folder = tmp_path / version
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps({"version": version, **flags}))
    return Model.register(ws, folder / "model.json", "cd-model", tags={"stage": "prod"})


def _deploy(ws: Workspace, model: Model) -> Webservice:
    config = InferenceConfig(entry_script=str(SCRIPT), environment=Environment.current())
    service = Model.deploy(
        ws, "followed", [model], config, LocalWebservice.deploy_configuration(workers=1)
    )
    service.wait_for_deployment()
    return service


def _history(service: Webservice) -> list[dict]:
    return list(service.follow_status()["history"])


def test_a_followed_service_takes_new_versions_under_load(cd_ws: Workspace, tmp_path: Path) -> None:
    ws = cd_ws
    service = _deploy(ws, _model(ws, tmp_path, "v1"))
    smoke = tmp_path / "smoke.json"
    smoke.write_text(json.dumps([{"smoke": 1}, {"smoke": 2}]))
    followed = run_cli(
        "service", "follow", "followed", "-w", str(ws.path), "--model", "cd-model",
        "--tag", "stage=prod", "--smoke-data", str(smoke),
    )  # fmt: skip
    assert followed.returncode == 0, followed.stderr
    assert process.running(ws) is not None

    answers: list[tuple[float, int, str | None]] = []  # (time, status, version)
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                try:
                    r = client.post(service.scoring_uri, json={"x": 1})
                    version = r.json().get("version") if r.status_code == 200 else None
                    answers.append((time.monotonic(), r.status_code, version))
                except httpx.HTTPError:
                    answers.append((time.monotonic(), -1, None))

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(answers) >= 20, "the load never got going")
        # an untagged version is not followed
        Model.register(ws, _write(tmp_path, "untagged"), "cd-model")
        registered = time.monotonic()
        _model(ws, tmp_path, "v2")
        first_v2 = wait_for(
            lambda: next((t for t, _, v in answers if v == "v2"), None),
            "the followed service never served v2",
            timeout=600,
        )
        print(f"\nregistration -> serving v2: {first_v2 - registered:.2f} s (busy machine)")
        wait_for(lambda: sum(v == "v2" for _, _, v in answers) >= 20, "v2 answered too little")

        # v3 breaks on the smoke data: rejected by the gate, v2 keeps serving
        _model(ws, tmp_path, "v3", run_fails=True)
        rejected = wait_for(
            lambda: [h for h in _history(service) if h["model"] == "cd-model:4"],
            "v3 was never tried",
            timeout=600,
        )
        assert rejected[0]["outcome"] == "rejected"
        assert "smoke request 1 answered 500" in rejected[0]["reason"]
        count = len(answers)
        wait_for(lambda: len(answers) >= count + 20, "the load stopped")
    finally:
        stop.set()
        for t in threads:
            t.join()

    assert [code for _, code, _ in answers if code != 200] == []  # no failed request at all
    assert {v for _, _, v in answers} == {"v1", "v2"}
    assert Webservice(ws, "followed").run({"x": 1})["version"] == "v2"
    assert [m.id for m in Webservice(ws, "followed").models] == ["cd-model:3"]
    assert [h["model"] for h in _history(service)] == ["cd-model:3", "cd-model:4"]  # not :2
    assert [s for s in Webservice.list(ws) if s.name.startswith("gate-")] == []  # cleaned up

    outcomes = [e.payload for e in ws.store.read_events(types=[ev.TRIGGER_COMPLETED])]
    assert [(o["model"], o["outcome"]) for o in outcomes] == [
        ("cd-model:3", "applied"),
        ("cd-model:4", "rejected"),
    ]
    shown = run_cli("service", "follow", "followed", "-w", str(ws.path))
    assert "rejected" in shown.stdout and "smoke gate failed" in shown.stdout, shown.stderr


def test_a_version_that_cannot_deploy_leaves_the_old_one_serving(
    cd_ws: Workspace, tmp_path: Path
) -> None:
    ws = cd_ws
    service = _deploy(ws, _model(ws, tmp_path, "v1"))
    service.follow("cd-model")  # no gate: the update itself fails
    _model(ws, tmp_path, "v2", init_fails=True)
    (failed,) = wait_for(lambda: _history(service), "v2 was never tried", timeout=600)
    assert failed["outcome"] == "failed"
    assert "this version cannot load" in failed["reason"] or "revision 2" in failed["reason"]
    assert service.run({"x": 1})["version"] == "v1"
    assert Webservice(ws, "followed").state == "Healthy"

    states = [
        (e.payload["name"], e.payload["state"])
        for e in ws.store.read_events(types=[ev.SERVICE_STATE_CHANGED])
    ]
    assert ("followed", "Transitioning") in states
    service.unfollow()
    service.delete()
    states = [
        (e.payload["state"], e.payload["previous_state"])
        for e in ws.store.read_events(types=[ev.SERVICE_STATE_CHANGED])
        if e.payload["name"] == "followed"
    ]
    assert states[-1] == ("Deleted", "Transitioning")


def test_follow_refuses_a_model_the_service_does_not_serve(
    cd_ws: Workspace, tmp_path: Path
) -> None:
    ws = cd_ws
    _deploy(ws, _model(ws, tmp_path, "v1"))
    refused = run_cli("service", "follow", "followed", "-w", str(ws.path), "--model", "other")
    assert refused.returncode != 0 and "does not serve model 'other'" in refused.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    refused = run_cli(
        "service", "follow", "followed", "-w", str(ws.path), "--model", "cd-model",
        "--smoke-data", str(bad),
    )  # fmt: skip
    assert "is not JSON or JSON lines" in refused.stderr and "Traceback" not in refused.stderr
    assert process.running(ws) is None  # nothing was followed, nothing started


def _write(tmp_path: Path, version: str) -> Path:
    folder = tmp_path / version
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps({"version": version}))
    return folder / "model.json"


def test_a_followed_endpoint_adds_each_new_version_at_its_share(
    cd_ws: Workspace, tmp_path: Path
) -> None:
    """A new matching version joins the endpoint as `v<version>` with the share asked for,
    the default keeps the rest; a version that fails the smoke gate joins nothing."""
    from modelport.core.endpoint import Endpoint

    ws = cd_ws
    first = _model(ws, tmp_path, "v1")
    config = InferenceConfig(entry_script=str(SCRIPT), environment=Environment.current())
    endpoint = Model.deploy(
        ws, "followed-ep", [first], config,
        Endpoint.deploy_configuration(version_name="main", workers=1),
    )  # fmt: skip
    assert isinstance(endpoint, Endpoint)
    endpoint.wait_for_deployment()
    smoke = tmp_path / "smoke.json"
    smoke.write_text(json.dumps({"smoke": 1}))
    followed = run_cli(
        "endpoint", "follow", "followed-ep", "-w", str(ws.path), "--model", "cd-model",
        "--traffic", "25", "--smoke-data", str(smoke),
    )  # fmt: skip
    assert followed.returncode == 0, followed.stderr

    second = _model(ws, tmp_path, "v2")
    wait_for(lambda: len(endpoint.follow_status()["history"]) >= 1, "v2 never handled", 600)
    assert endpoint.follow_status()["history"][-1]["outcome"] == "applied"
    added = f"v{second.version}"
    versions = Endpoint(ws, "followed-ep").versions
    assert set(versions) == {"main", added}
    assert versions[added].traffic_percentile == 25
    answer = httpx.post(
        endpoint.scoring_uri, json={"x": 1}, headers={"x-modelport-version": added}, timeout=60
    )
    assert answer.status_code == 200 and answer.json() == {"version": "v2"}

    _model(ws, tmp_path, "v3", run_fails=True)  # breaks on the smoke data
    wait_for(lambda: len(endpoint.follow_status()["history"]) >= 2, "v3 never handled", 600)
    last = endpoint.follow_status()["history"][-1]
    assert last["outcome"] == "rejected" and "smoke" in last["reason"]
    assert set(Endpoint(ws, "followed-ep").versions) == {"main", added}

    events = ws.store.read_events(0, limit=1000, types=[ev.ENDPOINT_TRAFFIC_CHANGED])
    assert [e.payload["traffic"] for e in events if e.payload["name"] == "followed-ep"][-1] == {
        "main": 75.0,
        added: 25.0,
    }
    Endpoint(ws, "followed-ep").delete()
    assert all(t["name"] != "endpoint:followed-ep" for t in triggers.list_all(ws))
