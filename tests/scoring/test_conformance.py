"""Same scripts, same requests: modelport against the reference azureml-inference-server-http.

The reference is installed once into `$MODELPORT_TEST_CACHE` (default
`~/.cache/modelport-tests/refsrv`) and reused; the test skips only if that install fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.conformance

REFERENCE = "azureml-inference-server-http>=1.5,<1.6"
COMPARED_HEADERS = (
    "content-type",
    "x-ms-run-function-failed",
    "x-request-id",
    "x-ms-request-id",
    "x-ms-client-request-id",
    "access-control-allow-origin",
)
# azureml-contrib-services re-exports the server's own request/response classes; the same here.
CONTRIB = {
    "azureml/__init__.py": "",
    "azureml/contrib/__init__.py": "",
    "azureml/contrib/services/__init__.py": "",
    "azureml/contrib/services/aml_request.py": "from azureml_inference_server_http.api.aml_request import *  # noqa\n"
    "from azureml_inference_server_http.api.aml_request import rawhttp, AMLRequest  # noqa\n",
    "azureml/contrib/services/aml_response.py": "from azureml_inference_server_http.api.aml_response import AMLResponse  # noqa\n",
}
ROW = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
JSON = {"Content-Type": "application/json"}


def _cache_dir() -> Path:
    base = os.environ.get("MODELPORT_TEST_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "modelport-tests" / "refsrv"


@pytest.fixture(scope="session")
def reference_python() -> Path:
    import sklearn

    root = _cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    python = root / "venv" / "bin" / "python"
    marker = root / f"ok-{sklearn.__version__}"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            uv = Path(sys.executable).with_name("uv")
            steps = [
                [str(uv), "venv", "--quiet", "--python", sys.executable, str(root / "venv")],
                [
                    str(uv),
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    str(python),
                    REFERENCE,
                    f"scikit-learn=={sklearn.__version__}",
                    "joblib",
                    "pandas",
                ],
            ]
            for step in steps:
                done = subprocess.run(step, capture_output=True, timeout=600)
                if done.returncode != 0:
                    pytest.skip(
                        f"cannot install the reference server ({' '.join(step[:3])}): "
                        f"{done.stderr.decode()[-400:]}"
                    )
            shim = root / "contrib"
            for rel, text in CONTRIB.items():
                (shim / rel).parent.mkdir(parents=True, exist_ok=True)
                (shim / rel).write_text(text)
            marker.write_text("ok")
    return python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def reference_server(python: Path, app_root: Path, script: str, model_dir: Path | None):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_"))}
    env.update({"AML_APP_ROOT": str(app_root), "PYTHONPATH": str(_cache_dir() / "contrib")})
    if model_dir:
        env["AZUREML_MODEL_DIR"] = str(model_dir)
    proc = subprocess.Popen(
        [str(python.with_name("azmlinfsrv")), "--entry_script", script, "--port", str(port)],
        cwd=app_root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"reference server for {script} exited")
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("reference server never answered")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# (script, model dir name or None, [(method, path, headers, body)])
CASES = [
    (
        "ridge_numpy.py",
        "seed-model",
        [
            ("POST", "/score", JSON, json.dumps({"data": [ROW, ROW[::-1]]})),
            ("POST", "/score", JSON, json.dumps({"data": [[1.5] * 10]})),
            ("POST", "/score", {"Content-Type": "text/plain"}, "{}"),
            ("POST", "/score", JSON, "{bad"),
            ("POST", "/score", JSON, ""),
            ("POST", "/score", JSON, "[1]"),
            ("POST", "/score", JSON, '{"other": 1}'),
            ("GET", "/score?data=[[1,2,3,4,5,6,7,8,9,10]]", {}, None),
            ("OPTIONS", "/score", {}, None),
            ("PUT", "/score", {}, None),
            ("GET", "/", {"x-request-id": "rid-1", "TraceId": "t"}, None),
            ("POST", "/score", {**JSON, "x-request-id": "a" * 101}, "{}"),
            (
                "POST",
                "/score",
                {**JSON, "x-ms-client-request-id": "c" * 101, "x-request-id": "r"},
                "{}",
            ),
            (
                "POST",
                "/score",
                {**JSON, "x-ms-request-id": "legacy", "x-request-id": "r2"},
                '{"data": [[1,1,1,1,1,1,1,1,1,1]]}',
            ),
            (
                "POST",
                "/score",
                {**JSON, "x-ms-client-request-id": "cli", "x-request-id": "r3"},
                '{"data": [[1,1,1,1,1,1,1,1,1,1]]}',
            ),
            ("GET", "/swagger.json?version=7", {}, None),
            ("GET", "/nothing", {}, None),
        ],
    ),
    (
        "echo_raw.py",
        None,
        [
            ("POST", "/score", {"Content-Type": "text/plain"}, '{"a": 1,  "b": "x"}'),
            ("POST", "/score", {"Content-Type": "application/json"}, '{"a": 1}'),
            ("POST", "/score", {"Content-Type": "text/plain"}, b"\xff\xfe"),
            ("GET", "/score?a=1&b=[1,2]&c=x&c=y&d=null", {}, None),
            ("OPTIONS", "/score", {}, None),
        ],
    ),
    (
        "failing_run.py",
        None,
        [
            ("POST", "/score", {"Content-Type": "text/plain"}, '{"raise": true}'),
            ("POST", "/score", {"Content-Type": "text/plain"}, '{"catch": true}'),
        ],
    ),
    (
        "headers_run.py",
        None,
        [
            ("POST", "/score", {"Content-Type": "text/plain", "X-Custom": "v"}, "hello"),
        ],
    ),
    (
        "standard_types.py",
        None,
        [
            (
                "POST",
                "/score",
                {**JSON, "X-Custom": "h"},
                json.dumps(
                    {
                        "text": "abc",
                        "options": {"name": "n", "inner": {"k": 2}, "arr": [1.0, 3.0]},
                        "factor": 3,
                    }
                ),
            ),
        ],
    ),
    (
        "pandas_schema.py",
        None,
        [
            (
                "POST",
                "/score",
                JSON,
                json.dumps(
                    {"data": [{"input_name_1": 2.0, "input_name_2": "a", "input_name_3": 3}]}
                ),
            ),
        ],
    ),
    (
        "seed_rawhttp.py",
        None,
        [
            ("POST", "/score", JSON, bytes(range(256))),
            ("GET", "/score?x=1&y=2", {}, None),
            ("OPTIONS", "/score", {}, None),
        ],
    ),
    ("seed_cors.py", None, [("POST", "/score", {"Content-Type": "text/plain"}, "abc")]),
    (
        "rawhttp_files.py",
        None,
        [
            ("POST", "/score", {"X-Want": "image"}, b"\x00\x01\x02"),
            ("POST", "/score", {"X-Want": "error"}, b"x"),
            ("OPTIONS", "/score", {}, None),
            ("GET", "/score?k=1&k=2", {}, None),
        ],
    ),
]


def _snapshot(response: httpx.Response) -> dict:
    ctype = response.headers.get("content-type", "")
    body: object = response.content
    if ctype.startswith("application/json") and response.content:
        body = response.json()
    headers = {h: response.headers.get(h) for h in COMPARED_HEADERS}
    if headers["x-request-id"] and len(headers["x-request-id"]) == 36:
        headers["x-request-id"] = "<uuid>"
    if headers["x-ms-request-id"] and len(headers["x-ms-request-id"]) == 36:
        headers["x-ms-request-id"] = "<uuid>"
    return {
        "status": response.status_code,
        "body": body,
        "headers": headers,
        "exec_ms": "x-ms-run-fn-exec-ms" in response.headers,
    }


@pytest.mark.parametrize(("script", "model_dir", "requests"), CASES, ids=[c[0] for c in CASES])
def test_same_answers_as_the_reference(
    reference_python, server_factory, app_root, script, model_dir, requests
):
    folder = app_root / model_dir if model_dir else None
    ours = server_factory(script, model_dir=folder)
    with reference_server(reference_python, app_root, script, folder) as ref_url:
        for method, path, headers, body in requests:
            ref = httpx.request(method, ref_url + path, headers=headers, content=body, timeout=30)
            mine = ours.client.request(method, path, headers=headers, content=body)
            assert _snapshot(mine) == _snapshot(ref), f"{script}: {method} {path} {body!r}"


def test_documented_differences(reference_python, server_factory, app_root):
    """Where modelport deliberately differs, check that it still differs the documented way."""
    folder = app_root / "seed-model"
    ours = server_factory("ridge_numpy.py", model_dir=folder)
    with reference_server(reference_python, app_root, "ridge_numpy.py", folder) as ref_url:
        bad = json.dumps({"data": [[{}]]})
        ref = httpx.post(ref_url + "/score", content=bad, headers=JSON)
        mine = ours.client.post("/score", content=bad, headers=JSON)
        assert ref.status_code == 500 and mine.status_code == 400
        ref_doc = httpx.get(ref_url + "/swagger.json").json()
        my_doc = ours.client.get("/swagger.json").json()
        assert my_doc["definitions"]["ServiceInput"] == ref_doc["definitions"]["ServiceInput"]
        assert my_doc["definitions"]["ServiceOutput"] == ref_doc["definitions"]["ServiceOutput"]
        assert set(my_doc["paths"]) == {"/", "/score"}  # the guide's template, no /swagger.json
        ref_conn = httpx.post(
            ref_url + "/score", content='{"data": [[1,1,1,1,1,1,1,1,1,1]]}', headers=JSON
        )
        assert ref_conn.headers.get("connection") == "close"


def test_numpy_scalars_serialise_where_the_reference_fails(
    reference_python, server_factory, app_root
):
    ours = server_factory("plain_json.py")
    body = '{"data": [[1, 2], [3, 4.5]]}'
    with reference_server(reference_python, app_root, "plain_json.py", None) as ref_url:
        ref = httpx.post(ref_url + "/score", content=body, headers={"Content-Type": "text/plain"})
    mine = ours.client.post("/score", content=body, headers={"Content-Type": "text/plain"})
    assert ref.status_code == 500  # json.dumps cannot encode numpy.int64
    assert mine.status_code == 200 and mine.json()["count"] == 4
