"""Same scripts, same requests: modelport against the reference azureml-inference-server-http.

The reference is installed once into `$MODELPORT_TEST_CACHE` (default
`~/.cache/modelport-tests/refsrv`) and reused. If that install fails the tests skip, unless
`MODELPORT_TEST_REQUIRE_CONFORMANCE=1` (`.ci/run` sets it): then they fail, so conformance
cannot vanish from CI as a row of skips.
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
from typing import NoReturn

import httpx
import pytest

pytestmark = pytest.mark.conformance

REFERENCE = "azureml-inference-server-http>=1.5,<1.6"
# Every response header is compared except these, which docs/scoring.md lets differ: the
# connection handling (keep-alive is honoured), the server's own name, the framing (compact
# JSON changes the length; the body itself is compared) and the date.
UNCOMPARED_HEADERS = frozenset(
    {"connection", "keep-alive", "server", "date", "content-length", "transfer-encoding"}
)
# Present on both, with values that differ by design: a timing and the server's version.
PRESENCE_ONLY_HEADERS = frozenset({"x-ms-run-fn-exec-ms", "x-ms-server-version"})
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


def _unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail where conformance is required (CI)."""
    if os.environ.get("MODELPORT_TEST_REQUIRE_CONFORMANCE") == "1":
        pytest.fail(f"{reason}\n(MODELPORT_TEST_REQUIRE_CONFORMANCE=1: this must not skip)")
    pytest.skip(reason)


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
                [
                    str(uv),
                    "venv",
                    "--quiet",
                    "--clear",
                    "--python",
                    sys.executable,
                    str(root / "venv"),
                ],
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
                    _unavailable(
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
def reference_server(
    python: Path,
    app_root: Path,
    script: str,
    model_dir: Path | None,
    extra_env: dict[str, str] | None = None,
):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_"))}
    env.update({"AML_APP_ROOT": str(app_root), "PYTHONPATH": str(_cache_dir() / "contrib")})
    env.update(extra_env or {})
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


def _multipart(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart/form-data body built once, so both servers receive the same bytes."""
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        kind = b"Content-Type: application/octet-stream\r\n" if filename else b""
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode() + kind
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


BOUNDARY = "modelport-conformance-7d1f"
NON_ASCII = {"text": "Zoë naïve — 東京 🚀", "options": {"name": "ü", "inner": {"k": 1}, "arr": [1]}}
# The harder requests: multipart uploads, a run() over the scoring timeout, a 503 from the
# script, bodies of a few MB and non-ASCII JSON. (id, script, model dir, server env, requests)
MORE_CASES = [
    (
        "multipart",
        "rawhttp_files.py",
        None,
        {},
        [
            (
                "POST",
                "/score",
                {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                _multipart(
                    BOUNDARY,
                    [
                        ("image", "a.png", bytes(range(256)) * 40),
                        ("image", "b.bin", b"\x00" * 3000),
                        ("doc", "d.txt", "héllo".encode()),
                        ("label", None, b"cat"),
                    ],
                ),
            ),
        ],
    ),
    (
        "timeout",
        "failing_run.py",
        None,
        {"SCORING_TIMEOUT_MS": "300"},
        [
            ("POST", "/score", {"Content-Type": "text/plain"}, json.dumps({"sleep": 1.2})),
            ("POST", "/score", {"Content-Type": "text/plain"}, '{"after": "timeout"}'),
        ],
    ),
    (
        "script-503",
        "rawhttp_files.py",
        None,
        {},
        [("POST", "/score", {"X-Want": "error", "x-request-id": "busy-1"}, b"x")],
    ),
    (
        "large-raw",
        "seed_rawhttp.py",
        None,
        {},
        [("POST", "/score", {"Content-Type": "application/octet-stream"}, os.urandom(4 << 20))],
    ),
    (
        "large-json",
        "ridge_numpy.py",
        "seed-model",
        {},
        [("POST", "/score", JSON, json.dumps({"data": [ROW, ROW[::-1]] * 40_000}))],
    ),
    (
        "non-ascii",
        "standard_types.py",
        None,
        {},
        [
            ("POST", "/score", JSON, json.dumps(NON_ASCII, ensure_ascii=False).encode()),
            ("POST", "/score", JSON, json.dumps(NON_ASCII).encode()),  # as \u escapes
        ],
    ),
    (
        "non-ascii-raw",
        "echo_raw.py",
        None,
        {},
        [
            ("POST", "/score", JSON, json.dumps({"ключ": "значение ✓"}, ensure_ascii=False)),
            ("POST", "/score", {"Content-Type": "text/plain; charset=utf-8"}, "grüße 👋".encode()),
        ],
    ),
]
EXPECTED_STATUS = {
    "multipart": [201],
    "timeout": [500, 200],
    "script-503": [503],
    "large-raw": [200],
    "large-json": [200],
    "non-ascii": [200, 200],
    "non-ascii-raw": [200, 200],
}


def _snapshot(response: httpx.Response) -> dict:
    ctype = response.headers.get("content-type", "")
    body: object = response.content
    if ctype.startswith("application/json") and response.content:
        body = response.json()
    headers: dict[str, str | None] = {}
    for name, value in response.headers.multi_items():
        name = name.lower()
        if name in UNCOMPARED_HEADERS:
            continue
        if name in PRESENCE_ONLY_HEADERS:
            value = "<present>"
        elif name in ("x-request-id", "x-ms-request-id") and len(value) == 36:
            value = "<uuid>"
        headers[name] = value if name not in headers else f"{headers[name]}, {value}"
    return {"status": response.status_code, "body": body, "headers": headers}


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


@pytest.mark.parametrize(
    ("script", "model_dir", "env", "requests"),
    [c[1:] for c in MORE_CASES],
    ids=[c[0] for c in MORE_CASES],
)
def test_harder_requests_get_the_same_answers(
    reference_python, server_factory, app_root, script, model_dir, env, requests, request
):
    folder = app_root / model_dir if model_dir else None
    ours = server_factory(script, model_dir=folder, env=env)
    statuses = []
    with reference_server(reference_python, app_root, script, folder, env) as ref_url:
        for method, path, headers, body in requests:
            ref = httpx.request(method, ref_url + path, headers=headers, content=body, timeout=60)
            mine = ours.client.request(method, path, headers=headers, content=body, timeout=60)
            assert _snapshot(mine) == _snapshot(ref), f"{script}: {method} {path} {body[:80]!r}"
            statuses.append(ref.status_code)
    # each case reaches what it is named for (an upload, a timeout, a 503), not an early error
    assert statuses == EXPECTED_STATUS[request.node.callspec.id]


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


def test_overload_is_503_where_the_reference_queues(reference_python, server_factory, app_root):
    """docs/scoring.md #6: a full worker answers 503 at once; the reference makes callers wait.
    The 503 carries the headers the reference puts on its own JSON errors (its timeout's)."""
    from concurrent.futures import ThreadPoolExecutor

    env = {"SCORING_TIMEOUT_MS": "300"}
    ours = server_factory("failing_run.py", "--max-concurrent-requests-per-container", "1", env=env)
    slow = json.dumps({"sleep": 0.6})

    def burst(url: str) -> list[httpx.Response]:
        with ThreadPoolExecutor(3) as pool:
            return list(
                pool.map(lambda _: httpx.post(url + "/score", content=slow, timeout=30), range(3))
            )

    with reference_server(reference_python, app_root, "failing_run.py", None) as ref_url:
        assert [r.status_code for r in burst(ref_url)] == [200] * 3
    with reference_server(reference_python, app_root, "failing_run.py", None, env) as ref_url:
        ref_error = httpx.post(ref_url + "/score", content=json.dumps({"sleep": 1.2}))
    assert ref_error.status_code == 500
    mine = burst(ours.url)
    rejected = [r for r in mine if r.status_code == 503]
    assert rejected and {r.status_code for r in mine} <= {500, 503}, [r.status_code for r in mine]
    expected = set(_snapshot(ref_error)["headers"]) - {"x-ms-run-fn-exec-ms"}
    for r in rejected:
        assert set(r.json()) == {"message"}
        snapshot = _snapshot(r)
        assert set(snapshot["headers"]) == expected, snapshot
        assert snapshot["headers"]["content-type"] == ref_error.headers["content-type"]


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
