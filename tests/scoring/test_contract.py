"""The compatibility checklist, against real modelport server processes."""

from __future__ import annotations

import json

import pytest

ROW = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def ridge(server_factory, app_root):
    return server_factory("ridge_numpy.py", model_dir=app_root / "seed-model")


@pytest.fixture(scope="module")
def echo(server_factory):
    return server_factory("echo_raw.py")


def test_health_root(echo):
    r = echo.client.get("/")
    assert (r.status_code, r.text) == (200, "Healthy")
    assert r.headers["content-type"] == "text/html; charset=utf-8"


def test_numpy_schema_scores_a_list(ridge):
    r = ridge.client.post("/score", json={"data": [ROW, ROW[::-1]]})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert isinstance(body, list) and len(body) == 2 and all(isinstance(v, float) for v in body)
    assert float(r.headers["x-ms-run-fn-exec-ms"]) >= 0
    assert r.headers["x-ms-run-fn-exec-ms"].count(".") == 1
    assert len(r.headers["x-ms-run-fn-exec-ms"].split(".")[1]) == 3
    assert r.headers["x-ms-run-function-failed"] == "False"


def test_seed_script_verbatim_with_sklearn_externals_joblib(server_factory, app_root):
    server = server_factory("seed_sklearn.py", model_dir=app_root / "seed-model")
    r = server.client.post("/score", json={"data": [ROW]})
    assert r.status_code == 200 and isinstance(r.json()[0], float)


def test_float_input_is_cast_to_the_int64_sample(ridge):
    r = ridge.client.post("/score", json={"data": [[1.9, 2, 3, 4, 5, 6, 7, 8, 9, 10]]})
    same = ridge.client.post("/score", json={"data": [ROW]})
    assert r.json() == same.json()


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (
            '{"data": []}',
            {"Content-Type": "text/plain"},
            415,
            "Expects Content-Type to be application/json",
        ),
        (
            "{bad",
            JSON,
            400,
            "POST body could not be decoded as JSON: Expecting property name enclosed "
            "in double quotes: line 1 column 2 (char 1)",
        ),
        ("", JSON, 400, "POST body is empty. Expecting a JSON dictionary."),
        ("[1, 2]", JSON, 400, "POST body should be a JSON dictionary."),
        ('{"x": 1}', JSON, 400, "A value is not provided for the 'data' parameter."),
    ],
)
def test_decorated_input_errors(ridge, body, headers, status, message):
    r = ridge.client.post("/score", content=body, headers=headers)
    assert r.status_code == status
    assert r.json() == {"message": message}
    assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize("data", [[[{}]], [["a"] * 10], "nope", [[1, 2, 3]], [[[1] * 10]], None])
def test_input_not_fitting_the_sample_is_400_naming_the_parameter(ridge, data):
    r = ridge.client.post("/score", json={"data": data})
    assert r.status_code == 400, r.text
    message = r.json()["message"]
    assert "'data' parameter" in message and "int64" in message and "(N, 10)" in message


def test_undecorated_run_gets_the_exact_body(echo):
    text = '{"a": 1,   "b": "é"}\n'
    r = echo.client.post("/score", content=text.encode(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 200 and r.json() == text
    form = echo.client.post(
        "/score", content=b"a=1&b=2", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert form.json() == "a=1&b=2"


def test_non_utf8_body_is_400(echo):
    r = echo.client.post("/score", content=b"\xff\xfe\xfa")
    assert r.status_code == 400
    assert r.json()["message"].startswith("Input cannot be decoded as UTF-8:")


def test_get_query_string_reaches_undecorated_run_as_json_text(echo):
    r = echo.client.get("/score", params=[("a", "1"), ("b", "[1,2]"), ("c", "x"), ("c", "y")])
    assert r.status_code == 200
    assert json.loads(r.json()) == {"a": 1, "b": [1, 2], "c": ["x", "y"]}
    assert r.json() == '{"a": 1, "b": [1, 2], "c": ["x", "y"]}'


def test_get_query_string_feeds_decorated_parameters(ridge):
    r = ridge.client.get("/score", params={"data": json.dumps([ROW])})
    assert r.status_code == 200 and len(r.json()) == 1


def test_run_raising_is_500_with_generic_message(server_factory):
    server = server_factory("failing_run.py")
    r = server.client.post("/score", content='{"raise": true}')
    assert r.status_code == 500
    assert r.json() == {
        "message": "An unexpected error occurred in scoring script. Check the logs for more info."
    }
    assert r.headers["x-ms-run-function-failed"] == "True"
    caught = server.client.post("/score", content='{"catch": true}')
    assert (caught.status_code, caught.json()) == (200, "handled")


def test_methods(echo):
    assert echo.client.put("/score").status_code == 405
    assert echo.client.put("/score").json() == {
        "message": "The method is not allowed for the requested URL."
    }
    r = echo.client.options("/score")
    assert (r.status_code, r.content) == (200, b"")
    assert echo.client.post("/").status_code == 405
    missing = echo.client.get("/nothing-here")
    assert missing.status_code == 404 and "not found" in missing.json()["message"]


def test_request_id_headers(echo):
    r = echo.client.post("/score", content="x", headers={"x-request-id": "abc"})
    assert r.headers["x-request-id"] == "abc" and r.headers["x-ms-request-id"] == "abc"
    generated = echo.client.post("/score", content="x")
    assert len(generated.headers["x-request-id"]) == 36
    both = echo.client.post(
        "/score", content="x", headers={"x-ms-client-request-id": "c1", "TraceId": "t"}
    )
    assert (
        both.headers["x-ms-client-request-id"] == "c1" and both.headers["x-ms-request-id"] == "c1"
    )
    assert both.headers["traceid"] == "t"
    legacy = echo.client.post("/score", content="x", headers={"x-ms-request-id": "old"})
    assert (
        legacy.headers["x-ms-request-id"] == "old"
        and legacy.headers["x-ms-client-request-id"] == "old"
    )


@pytest.mark.parametrize("header", ["x-request-id", "x-ms-request-id", "x-ms-client-request-id"])
def test_request_ids_over_100_chars_are_431(echo, header):
    r = echo.client.post("/score", content="x", headers={header: "a" * 101})
    assert r.status_code == 431
    assert "must not exceed 100 characters" in r.json()["message"]
    ok = echo.client.post("/score", content="x", headers={header: "a" * 100})
    assert ok.status_code == 200


def test_numpy_values_in_results_serialise(server_factory):
    server = server_factory("plain_json.py")
    r = server.client.post("/score", content=json.dumps({"data": [[1, 2], [3, 4.5]]}))
    assert r.status_code == 200
    assert r.json() == {"sum": 10.5, "count": 4, "json": '{"a": 1}'}


def test_request_headers_parameter(server_factory):
    server = server_factory("headers_run.py")
    r = server.client.post(
        "/score", content="hi", headers={"X-Custom": "v1", "Content-Type": "text/plain"}
    )
    assert r.json() == {"data": "hi", "custom": "v1", "content_type": "text/plain"}


def test_standard_types_stacked_decorators_and_headers(server_factory):
    server = server_factory("standard_types.py")
    payload = {
        "text": "abc",
        "options": {"name": "n", "inner": {"k": 2}, "arr": [1.0, 3.0]},
        "factor": 3,
    }
    r = server.client.post("/score", json=payload, headers={"X-Custom": "yes"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "text": "ABC",
        "scaled": [3.0, 9.0],
        "arr_type": "ndarray",
        "name": "n",
        "inner": {"k": 2},
        "custom_header": "yes",
    }
    default = server.client.post(
        "/score", json={"text": "a", "options": {"name": "m", "inner": {}, "arr": [1.0, 2.0]}}
    )
    assert default.status_code == 200 and default.json()["scaled"] == [1.0, 2.0]
    wrong = server.client.post("/score", json={"text": 5, "options": {"arr": [1.0]}})
    assert wrong.status_code == 400 and "'text' parameter" in wrong.json()["message"]


def test_pandas_records_and_columns(server_factory):
    server = server_factory("pandas_schema.py")
    records = [{"input_name_1": 2.0, "input_name_2": "a", "input_name_3": 3}]
    assert server.client.post("/score", json={"data": records}).json() == [6.0]
    columns = {
        "input_name_1": {"0": 1.5, "1": 2.0},
        "input_name_2": {"0": "x", "1": "y"},
        "input_name_3": {"0": 2, "1": 1},
    }
    assert server.client.post("/score", json={"data": columns}).json() == [3.0, 2.0]
    bad = server.client.post("/score", json={"data": 5})
    assert bad.status_code == 400 and "'data' parameter" in bad.json()["message"]


def test_async_run(server_factory):
    server = server_factory("async_run.py")
    r = server.client.post("/score", content='{"x": 1}')
    assert r.json() == {"async": True, "echo": {"x": 1}}
    assert "x-ms-run-fn-exec-ms" in r.headers


def test_driver_module_run_is_used(server_factory):
    server = server_factory("driver.py")
    assert server.client.post("/score", content="z").json() == {"driven": True, "raw": "z"}


def test_keep_alive_is_honoured(echo):
    with echo.client.stream("POST", "/score", content="a") as r:
        assert r.headers.get("connection", "keep-alive") != "close"
