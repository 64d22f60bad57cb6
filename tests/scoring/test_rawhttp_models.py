"""@rawhttp scripts, model folders, get_model_path, data collection."""

from __future__ import annotations

import csv
import hashlib
import json
import os

import pytest


@pytest.fixture(scope="module")
def raw(server_factory):
    return server_factory("rawhttp_files.py")


def test_seed_rawhttp_echo(server_factory):
    server = server_factory("seed_rawhttp.py")
    payload = bytes(range(256)) * 4
    r = server.client.post("/score", content=payload, headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.content == payload
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    g = server.client.get("/score?a=1&b=two")
    assert (g.status_code, g.text) == (200, "/score?a=1&b=two")
    bad = server.client.options("/score")
    assert bad.status_code == 500 and bad.headers["x-ms-run-function-failed"] == "True"


def test_seed_cors_script_without_rawhttp_fails_like_the_reference(server_factory):
    # The guide's CORS sample forgets @rawhttp: run() gets a string and raises.
    server = server_factory("seed_cors.py")
    r = server.client.post("/score", content="x")
    assert r.status_code == 500 and r.headers["x-ms-run-function-failed"] == "True"


def test_multipart_files_and_cors_header(raw):
    files = [
        ("image", ("a.png", b"\x89PNG\x00\x01", "image/png")),
        ("file[]", ("1.bin", b"one", "application/octet-stream")),
        ("file[]", ("2.bin", b"two", "application/octet-stream")),
    ]
    r = raw.client.post("/score", files=files, data={"note": "hi"})
    assert r.status_code == 201
    assert r.headers["access-control-allow-origin"] == "http://www.example.com"
    body = r.json()
    assert body["image"] == [hashlib.sha256(b"\x89PNG\x00\x01").hexdigest()]
    assert body["file[]"] == [
        hashlib.sha256(b"one").hexdigest(),
        hashlib.sha256(b"two").hexdigest(),
    ]
    assert body["form"] == {"note": "hi"}


def test_binary_reply_and_raw_preflight(raw):
    r = raw.client.post("/score", content=b"\x00\x01\x02", headers={"X-Want": "image"})
    assert r.content == b"\x02\x01\x00" and r.headers["content-type"] == "image/png"
    pre = raw.client.options("/score")
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "*"
    g = raw.client.get("/score?x=1&x=2")
    assert g.json() == {"x": ["1", "2"]}


def test_raw_error_response_is_flagged(raw):
    r = raw.client.post("/score", content=b"x", headers={"X-Want": "error"})
    assert r.status_code == 503 and r.headers["x-ms-run-function-failed"] == "True"
    j = raw.client.post("/score", json={"a": [1]}, headers={"X-Want": "json"})
    assert j.json()["json"] == {"a": [1]} and j.json()["len"] == len(j.request.content)


def test_single_model_layout_cwd_and_helpers(server_factory, app_root):
    server = server_factory(
        "single_model.py", model_dir=app_root / "azureml-models" / "ridge" / "1"
    )
    r = server.client.post("/score", content=json.dumps({"data": [[0.0] * 10]}))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sdk"] == "model.pkl" and body["same"] is True
    assert os.path.samefile(body["cwd"], app_root)
    assert body["note"] == "hello from the app root" and body["double"] == 4


def test_multi_model_layout(server_factory, app_root):
    server = server_factory("multi_model.py", model_dir=app_root / "azureml-models")
    r = server.client.post("/score", content=json.dumps({"data": [[1.0] * 10]}))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ridge_a"] == body["via_env"]  # latest version (2) == explicit path to version 2
    assert body["ridge_a"] != body["ridge_b"]
    assert body["files"] == {"ridge_a": "model.pkl", "ridge_b": "model.pkl", "via_env": "model.pkl"}


def test_data_collection_writes_rows(server_factory, tmp_path):
    server = server_factory(
        "data_collection.py", env={"MODELPORT_DATA_COLLECTION_DIR": str(tmp_path)}, workers=2
    )
    for _ in range(3):
        assert server.client.post("/score", content='{"data": [[1, 2, 3], [4, 5, 6]]}').json() == [
            6,
            15,
        ]
    inputs = list(tmp_path.glob("*/ridge/inputs/*/*/*/data.csv"))
    preds = list(tmp_path.glob("*/ridge/predictions/*/*/*/data.csv"))
    assert len(inputs) == 1 and len(preds) == 1
    rows = list(csv.reader(inputs[0].read_text().splitlines()))
    assert rows[0] == ["$timestamp", "$corrId", "a", "b", "c"]
    assert [r[2:] for r in rows[1:]] == [["1", "2", "3"], ["4", "5", "6"]] * 3
    assert [r[2:] for r in list(csv.reader(preds[0].read_text().splitlines()))[1:]] == [
        ["6"],
        ["15"],
    ] * 3


def test_package_level_core_imports_and_an_offline_run(server_factory, app_root):
    server = server_factory(
        "core_imports.py", model_dir=app_root / "azureml-models" / "ridge" / "1"
    )
    r = server.client.post("/score", content=b'"x"')
    assert r.status_code == 200, r.text
    assert r.json() == {"model": ["ridge", "1", "model.pkl"], "offline": "OfflineRun"}
