"""Swagger documents, the azureml import shims and get_model_path, mostly in-process."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from modelport.scoring import shims

# The swagger 2 document printed in the seed guide (Azure ML docs, "How and where to deploy
# models", 2020-02-27), copied verbatim into the repository so the test runs everywhere.
SEED_SWAGGER = Path(__file__).parent / "data" / "seed_swagger.json"


def _seed_swagger() -> dict:
    return json.loads(SEED_SWAGGER.read_text(encoding="utf-8"))


def _strip_formats(node):
    if isinstance(node, dict):
        return {
            k: _strip_formats(v)
            for k, v in node.items()
            if not (k == "format" and v in ("numpy.ndarray",))
        }
    if isinstance(node, list):
        return [_strip_formats(v) for v in node]
    return node


def test_swagger2_matches_the_guide(server_factory, app_root):
    server = server_factory(
        "ridge_numpy.py", model_dir=app_root / "seed-model", env={"SERVICE_NAME": "myservice"}
    )
    doc = server.client.get("/swagger.json").json()
    assert _strip_formats(doc) == _seed_swagger()
    assert doc["definitions"]["ServiceInput"]["properties"]["data"]["format"] == "numpy.ndarray"


def test_swagger_versions(server_factory, app_root):
    server = server_factory(
        "ridge_numpy.py", model_dir=app_root / "seed-model", env={"SERVICE_NAME": "myservice"}
    )
    v3 = server.client.get("/swagger.json?version=3").json()
    assert v3["openapi"] == "3.0.3" and "ServiceInput" in v3["components"]["schemas"]
    assert v3["components"]["securitySchemes"]["Bearer"]["type"] == "apiKey"
    assert server.client.get("/swagger.json?version=3.1").json()["openapi"] == "3.1.0"
    bad = server.client.get("/swagger.json?version=9")
    assert bad.status_code == 404
    assert bad.json() == {
        "message": "Swagger version [9] is not valid. Supported versions: [2, 3, 3.1]."
    }


def test_no_schema_no_swagger(server_factory):
    r = server_factory("echo_raw.py").client.get("/swagger.json")
    assert r.status_code == 404 and "no" in r.json()["message"].lower()


def test_finder_never_shadows_a_real_package(tmp_path, monkeypatch):
    pkg = tmp_path / "azureml" / "monitoring"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("REAL = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "azureml" or m.startswith("azureml.")]:
        monkeypatch.delitem(sys.modules, name)
    shims.install()
    assert isinstance(sys.meta_path[-1], shims.ShimFinder)
    real = importlib.import_module("azureml.monitoring")
    assert getattr(real, "REAL", False) is True
    # a name the real package lacks still falls through to the shim
    model = importlib.import_module("azureml.core.model")
    assert model.Model.get_model_path.__module__ == "modelport.scoring.shims.model"
    for name in [m for m in sys.modules if m == "azureml" or m.startswith("azureml.")]:
        monkeypatch.delitem(sys.modules, name)


def test_get_model_path_layouts(tmp_path, monkeypatch):
    from modelport.errors import NotFound
    from modelport.scoring.shims.model import Model

    models = tmp_path / "azureml-models"
    (models / "m" / "1").mkdir(parents=True)
    (models / "m" / "1" / "a.pkl").write_text("1")
    (models / "m" / "10").mkdir()
    (models / "m" / "10" / "b.pkl").write_text("10")
    (models / "folder" / "3" / "inner").mkdir(parents=True)
    (models / "folder" / "3" / "x.txt").write_text("x")
    monkeypatch.setenv("AML_APP_ROOT", str(tmp_path))
    monkeypatch.delenv("AZUREML_MODEL_DIR", raising=False)
    assert Model.get_model_path("m") == str(models / "m" / "10" / "b.pkl")
    assert Model.get_model_path("m", version=1) == str(models / "m" / "1" / "a.pkl")
    assert Model.get_model_path("folder") == str(models / "folder" / "3")
    with pytest.raises(NotFound):
        Model.get_model_path("absent")
    elsewhere = tmp_path / "other"
    (elsewhere / "n" / "2").mkdir(parents=True)
    (elsewhere / "n" / "2" / "n.onnx").write_text("n")
    monkeypatch.setenv("AML_APP_ROOT", str(tmp_path / "nowhere"))
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(elsewhere))
    assert Model.get_model_path("n") == str(elsewhere / "n" / "2" / "n.onnx")
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(elsewhere / "n" / "2"))
    assert Model.get_model_path("n") == str(elsewhere / "n" / "2" / "n.onnx")


def test_aml_response_shapes():
    from modelport.scoring.shims.aml_response import AMLResponse

    r = AMLResponse(message={"a": 1}, status_code=201, json_str=True)
    assert r.status_code == 201 and r.get_data() == b'{"a": 1}' and r.mimetype == "application/json"
    multi = AMLResponse(b"x", 200, {"X-Thing": "a, b"})
    assert multi.headers.getlist("X-Thing") == ["a", "b"]
    assert AMLResponse(None, 200).get_data() == b"{}"
