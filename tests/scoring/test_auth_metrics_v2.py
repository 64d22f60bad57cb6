"""Auth hook, Prometheus metrics, health/readiness and the V2 (Open Inference) protocol."""

from __future__ import annotations

import json
import os
import time

import jwt
import pytest

ROW = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


@pytest.fixture(scope="module")
def secured(server_factory, app_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("auth")
    keys = folder / "keys.json"
    keys.write_text(json.dumps({"primary": "key-one", "secondary": "key-two"}))
    secret = folder / "secret"
    secret.write_text("s3cret-value-for-hs256-tokens-0123456789")
    server = server_factory(
        "ridge_numpy.py",
        "--auth-keys-file",
        str(keys),
        "--token-secret-file",
        str(secret),
        "--service-name",
        "myservice",
        model_dir=app_root / "seed-model",
    )
    return server, keys, secret.read_text()


def _score(server, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return server.client.post("/score", json={"data": [ROW]}, headers=headers)


def test_keys_and_rotation(secured):
    server, keys, _ = secured
    missing = _score(server)
    assert (
        missing.status_code == 401
        and "Authorization header is missing" in missing.json()["message"]
    )
    assert _score(server, "key-one").status_code == 200
    assert _score(server, "key-two").status_code == 200
    wrong = _score(server, "nope")
    assert wrong.status_code == 401 and "not valid" in wrong.json()["message"]
    keys.write_text(json.dumps({"primary": "key-three", "secondary": "key-two"}))
    os.utime(keys, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert _score(server, "key-one").status_code == 401
    assert _score(server, "key-three").status_code == 200


def test_tokens(secured):
    server, _, secret = secured
    good = jwt.encode({"exp": int(time.time()) + 60, "sub": "me"}, secret, algorithm="HS256")
    assert _score(server, good).status_code == 200
    expired = jwt.encode({"exp": int(time.time()) - 5}, secret, algorithm="HS256")
    r = _score(server, expired)
    assert r.status_code == 401 and "expired" in r.json()["message"]
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    assert _score(server, tampered).status_code == 401
    other = jwt.encode(
        {"exp": int(time.time()) + 60}, "another-secret-0123456789-abcdefghij", algorithm="HS256"
    )
    assert _score(server, other).status_code == 401


def test_open_routes_stay_open_and_swagger_declares_bearer(secured):
    server, _, _ = secured
    for path in ("/", "/healthz", "/readyz", "/metrics", "/swagger.json"):
        assert server.client.get(path).status_code == 200, path
    doc = server.client.get("/swagger.json").json()
    assert doc["securityDefinitions"]["Bearer"]["in"] == "header"
    assert doc["info"]["title"] == "myservice"
    infer = server.client.post("/v2/models/myservice/infer", json={"inputs": []})
    assert infer.status_code == 401


def test_metrics_count_requests(server_factory, app_root):
    server = server_factory("ridge_numpy.py", model_dir=app_root / "seed-model", workers=2)
    for _ in range(10):
        server.client.post("/score", json={"data": [ROW]})
    server.client.post("/score", json={"nope": 1})
    text = server.client.get("/metrics").text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values['modelport_requests_total{route="score",code="2xx"}'] >= 10
    assert values['modelport_requests_total{route="score",code="4xx"}'] >= 1
    assert values["modelport_request_duration_seconds_count"] >= 11
    assert values["modelport_workers_ready"] == 2 and values["modelport_ready"] == 1
    assert "modelport_queue_depth" in values and "modelport_requests_in_flight" in values
    assert server.client.get("/healthz").json() == {"status": "alive"}


def test_v2_protocol(server_factory, app_root):
    server = server_factory(
        "ridge_numpy.py", model_dir=app_root / "seed-model", env={"SERVICE_NAME": "ridge"}
    )
    assert server.client.get("/v2/health/ready").json() == {"ready": True}
    meta = server.client.get("/v2/models/ridge").json()
    assert meta["inputs"] == [{"name": "data", "datatype": "INT64", "shape": [-1, 10]}]
    body = {
        "id": "r1",
        "inputs": [
            {"name": "data", "shape": [2, 10], "datatype": "INT64", "data": ROW + ROW[::-1]}
        ],
    }
    r = server.client.post("/v2/models/ridge/infer", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model_name"] == "ridge" and out["id"] == "r1"
    classic = server.client.post("/score", json={"data": [ROW, ROW[::-1]]}).json()
    assert out["outputs"][0]["data"] == classic and out["outputs"][0]["shape"] == [2]
    bad = server.client.post(
        "/v2/models/ridge/infer",
        json={
            "inputs": [{"name": "data", "shape": [1, 3], "datatype": "INT64", "data": [1, 2, 3]}]
        },
    )
    assert bad.status_code == 400 and "'data' parameter" in bad.json()["error"]
    assert server.client.get("/v2/models/other").status_code == 404


def test_v2_needs_a_schema(server_factory):
    server = server_factory("echo_raw.py")
    assert server.client.post("/v2/models/ML-service/infer", json={"inputs": []}).status_code == 404
