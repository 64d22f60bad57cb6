"""No-code deployment end to end: register with model_framework, Model.deploy without code,
score over HTTP and compare with in-process predictions; schemas validated as OpenAPI."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pandas as pd
import pytest
from openapi_spec_validator import validate

from modelport.core import Model, Workspace
from modelport.core.resource_configuration import ResourceConfiguration
from modelport.core.webservice import LocalWebservice, Webservice
from modelport.runtimes.batching import batch_environment
from tests.runtimes.conftest import X, Y


def _deploy(ws: Workspace, name: str, model: Model, **dc: Any) -> Webservice:
    config = LocalWebservice.deploy_configuration(workers=1, **dc) if dc else None
    service = Model.deploy(ws, name, [model], deployment_config=config)
    service.wait_for_deployment()
    return service


def _post(service: Webservice, payload: Any) -> httpx.Response:
    return httpx.post(service.scoring_uri, json=payload, timeout=30)


def _documents(service: Webservice) -> dict[str, Any]:
    """The swagger 2 and OpenAPI 3 documents, each validated."""
    docs = {}
    for version in ("2", "3"):
        doc = httpx.get(service.swagger_uri, params={"version": version}).json()
        validate(doc)
        docs[version] = doc
    return docs


def test_sklearn_classifier_with_named_columns(rws: Workspace, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame(X, columns=["age", "bmi", "bp", "s1"])
    classifier = LogisticRegression().fit(frame, (Y > 0).astype(int))
    path = tmp_path / "classifier.joblib"
    joblib.dump(classifier, path)
    import sklearn

    model = Model.register(
        rws,
        path,
        "clf",
        model_framework=Model.Framework.SCIKITLEARN,
        model_framework_version=sklearn.__version__,
        resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5),
    )
    service = Model.deploy(rws, "clf-service", [model])
    service.wait_for_deployment()
    assert (service.deployment_config.cpu_cores, service.deployment_config.memory_gb) == (1, 0.5)

    records = frame.iloc[:3].to_dict(orient="records")
    rows = pd.DataFrame(records)
    assert service.run({"data": records}) == classifier.predict(rows).tolist()
    proba = _post(service, {"data": records, "method": "predict_proba"})
    # BLAS rounding depends on the frame's memory layout: equal to the last few ulps
    assert np.allclose(proba.json(), classifier.predict_proba(rows), rtol=1e-12, atol=0)
    wrong = _post(service, {"data": records, "method": "transform"})
    assert wrong.status_code == 400 and "predict_proba" in wrong.json()["message"]
    missing = _post(service, {"data": [{"age": 1.0}]})
    assert missing.status_code == 400 and "bmi" in missing.json()["message"]

    doc = _documents(service)["3"]
    example = doc["components"]["schemas"]["ServiceInput"]["example"]
    assert [*example["data"][0]] == ["age", "bmi", "bp", "s1"]
    answer = _post(service, example)
    assert answer.status_code == 200
    assert answer.json() == classifier.predict(pd.DataFrame(example["data"])).tolist()


def test_onnx_graph_inputs_checked_and_scored(rws: Workspace, onnx_file: Path) -> None:
    import onnxruntime

    model = Model.register(
        rws,
        onnx_file,
        "linear-onnx",
        model_framework=Model.Framework.ONNX,
        model_framework_version="1.17",
    )
    service = Model.deploy(rws, "onnx-service", [model])
    service.wait_for_deployment()
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    [graph_input] = session.get_inputs()
    [graph_output] = session.get_outputs()
    rows = X[:5].astype(np.float32)
    expected = session.run(None, {graph_input.name: rows})[0].tolist()

    answer = _post(service, {graph_input.name: rows.tolist()})
    assert answer.status_code == 200
    assert answer.json() == {graph_output.name: expected}
    narrow = _post(service, {graph_input.name: [[1.0, 2.0]]})
    assert narrow.status_code == 400 and graph_input.name in narrow.json()["message"]

    docs = _documents(service)
    example = docs["2"]["definitions"]["ServiceInput"]["example"]
    assert _post(service, example).status_code == 200
    assert docs["2"]["definitions"]["ServiceOutput"]["example"] == _post(service, example).json()


def test_batched_forest_answers_match_unbatched(rws: Workspace, forest_file: Path) -> None:
    model = Model.register(rws, forest_file, "forest", model_framework=Model.Framework.SCIKITLEARN)
    service = _deploy(rws, "forest-batched", model, environment_variables=batch_environment(32, 20))
    forest = joblib.load(forest_file)
    requests = [X[i : i + 1 + i % 3] for i in range(48)]

    async def score_all() -> list[Any]:
        async with httpx.AsyncClient(timeout=30) as client:
            replies = await asyncio.gather(
                *(client.post(service.scoring_uri, json={"data": r.tolist()}) for r in requests)
            )
        return [r.json() for r in replies]

    answers = asyncio.run(score_all())
    # bit-identical to scoring each request alone (no approx)
    assert answers == [forest.predict(r).tolist() for r in requests]
    bad = _post(service, {"data": [[1.0, 2.0]]})
    assert bad.status_code == 400
    assert _post(service, {"data": X[:2].tolist()}).json() == forest.predict(X[:2]).tolist()
    # batching happened: the 49 valid requests reached predict in fewer calls than requests
    text = httpx.get(service.scoring_uri.replace("/score", "/metrics")).text
    counts = dict(line.split() for line in text.splitlines() if line.startswith("modelport_batch"))
    assert float(counts["modelport_batched_requests_total"]) == len(requests) + 1
    assert float(counts["modelport_batches_total"]) < len(requests), counts


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("tensorflow") is None,
    reason="tensorflow is not installed (pip install 'modelport[tensorflow]')",
)
def test_tensorflow_saved_model(rws: Workspace, tmp_path: Path) -> None:
    import tensorflow as tf

    class Tiny(tf.Module):
        def __init__(self) -> None:
            self.w1 = tf.Variable(tf.random.stateless_normal((4, 8), seed=(1, 2)))
            self.w2 = tf.Variable(tf.random.stateless_normal((8, 1), seed=(3, 4)))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="features")])
        def serve(self, features: Any) -> Any:
            return {"score": tf.nn.relu(features @ self.w1) @ self.w2}

    tiny = Tiny()
    folder = tmp_path / "tiny_savedmodel"
    tf.saved_model.save(tiny, str(folder), signatures={"serving_default": tiny.serve})
    model = Model.register(
        rws,
        folder,
        "tiny-tf",
        model_framework=Model.Framework.TENSORFLOW,
        model_framework_version=tf.__version__,
    )
    service = Model.deploy(rws, "tf-service", [model])
    service.wait_for_deployment()
    rows = X[:3].astype(np.float32)
    expected = tiny.serve(tf.constant(rows))["score"].numpy().tolist()
    answer = _post(service, {"features": rows.tolist()})
    assert answer.status_code == 200
    assert answer.json() == {"score": expected}
    _documents(service)


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("mlflow") is None,
    reason="mlflow is not installed (pip install 'modelport[mlflow]')",
)
def test_mlflow_model_folder(rws: Workspace, tmp_path: Path) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import Ridge

    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    ridge = Ridge().fit(frame, Y)
    folder = tmp_path / "ridge_mlflow"
    with warnings.catch_warnings():  # mlflow's own notices while saving, not ours
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(
            ridge,
            str(folder),
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_PICKLE,
            signature=infer_signature(frame, Y),
            input_example=frame.iloc[:2],
        )
    model = Model.register(rws, folder, "ridge-mlflow")  # no framework: the MLmodel file says
    service = Model.deploy(rws, "mlflow-service", [model])
    service.wait_for_deployment()
    rows = frame.iloc[:4]
    answer = _post(service, {"data": rows.to_dict(orient="records")})
    assert answer.status_code == 200
    assert np.allclose(answer.json(), ridge.predict(rows), rtol=1e-12, atol=0)  # BLAS layout ulps
    _documents(service)
