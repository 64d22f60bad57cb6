"""Open Inference Protocol (KServe V2) routes for scripts with an @input_schema.

`/v2/health/live|ready`, `/v2/models/{name}` (metadata), `/v2/models/{name}/ready` and
`POST /v2/models/{name}[/versions/{v}]/infer`. Each V2 input feeds the run() parameter of the
same name through the same inference_schema conversion as /score.
"""

from __future__ import annotations

import re
from time import perf_counter
from typing import TYPE_CHECKING, Any

from modelport.scoring import _http, metrics
from modelport.scoring.runner import OK, TIMEOUT

if TYPE_CHECKING:
    from modelport.scoring.app import Receive, ScoringApp, Send
    from modelport.scoring.config import ServerConfig
    from modelport.scoring.entry import EntryScript

JSON_CT = (b"content-type", b"application/json")
_DTYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
}
_REVERSE = {v: k for k, v in _DTYPES.items()}


def model_name(config: ServerConfig) -> str:
    """The V2 model name: the service name with URL-unfriendly characters replaced."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", config.service_name).strip("-") or "model"


class V2Protocol:
    def __init__(self, app: ScoringApp, script: EntryScript | None, config: ServerConfig) -> None:
        self.app = app
        self.script = script if script is not None and script.has_schema else None
        self.name = model_name(config)

    async def dispatch(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path: str = scope["path"].rstrip("/")
        method = scope["method"]
        parts = path.split("/")[2:]  # after "", "v2"
        app = self.app
        if parts in (["health", "live"], []) and method == "GET":
            body = {"live": True} if parts else {"name": "modelport", "extensions": []}
            await self._json(send, 200, body)
            return
        if parts == ["health", "ready"] and method == "GET":
            ready = app.state.ready
            await self._json(send, 200 if ready else 503, {"ready": ready})
            return
        if len(parts) >= 2 and parts[0] == "models":
            if parts[1] != self.name or self.script is None:
                await self._json(send, 404, {"error": f"Model {parts[1]!r} is not served here."})
                return
            rest = parts[2:]
            if len(rest) >= 2 and rest[0] == "versions":
                rest = rest[2:]
            if rest == [] and method == "GET":
                await self._json(send, 200, self.metadata())
                return
            if rest == ["ready"] and method == "GET":
                await self._json(send, 200 if app.state.ready else 503, {"ready": app.state.ready})
                return
            if rest == ["infer"] and method == "POST":
                await self.infer(scope, receive, send)
                return
        await self._json(send, 404, {"error": f"No V2 route for {method} {scope['path']}."})

    async def _json(self, send: Send, status: int, body: Any) -> None:
        await self.app.respond(send, status, [JSON_CT], _http.dumps(body), None)

    def metadata(self) -> dict[str, Any]:
        assert self.script is not None
        inputs = []
        for param in self.script.params:
            conv = self.script.converters.get(param.name)
            sample = getattr(conv.param_type, "sample_input", None) if conv else None
            dtype = getattr(sample, "dtype", None)
            shape = [-1, *getattr(sample, "shape", (0,))[1:]]
            datatype = (
                _REVERSE.get(str(dtype), "BYTES")
                if dtype is not None and not hasattr(sample, "columns")
                else "BYTES"
            )
            inputs.append({"name": param.name, "datatype": datatype, "shape": shape})
        return {
            "name": self.name,
            "versions": [],
            "platform": "modelport-azureml-v1",
            "inputs": inputs,
            "outputs": [{"name": "output-0", "datatype": "BYTES", "shape": [-1]}],
        }

    async def infer(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        app = self.app
        start = perf_counter()
        status = await self._infer(scope, receive, send)
        app.metrics.observe(1, status, perf_counter() - start)

    async def _infer(self, scope: dict[str, Any], receive: Receive, send: Send) -> int:
        from modelport.scoring.app import _Request

        app = self.app
        script = self.script
        assert script is not None
        req = _Request(scope["headers"])
        if app.auth is not None:
            problem = app.auth.check(req.authorization)
            if problem is not None:
                await self._json(send, 401, {"error": problem, "message": problem})
                return 401
        if app.pending >= app.queue_limit:
            app.metrics.add(metrics.S_REJECTED)
            await self._json(send, 503, {"error": "Server busy; retry later."})
            return 503
        body = await _http.read_body(receive)
        try:
            request = _http.loads(body)
            payload = self._payload(request)
        except (ValueError, TypeError, KeyError) as exc:
            await self._json(send, 400, {"error": f"Invalid V2 inference request: {exc}"})
            return 400
        kwargs = app.arguments(script, payload)
        if isinstance(kwargs, tuple):
            await self._json(send, kwargs[0], {"error": kwargs[1]})
            return kwargs[0]
        if script.wants_headers:
            kwargs["request_headers"] = _http.title_headers(scope["headers"])
        assert app.runner is not None
        app.pending += 1
        try:
            outcome = await app.runner.call(kwargs)
        finally:
            app.pending -= 1
        if outcome.kind != OK:
            if outcome.kind == TIMEOUT:
                message = f"Scoring timeout after {app.config.scoring_timeout_ms} ms"
            else:
                message = "The scoring script failed; check the logs."
            await self._json(send, 500, {"error": message})
            return 500
        response: dict[str, Any] = {
            "model_name": self.name,
            "id": request.get("id") or "",
            "parameters": {},
            "outputs": [_output(outcome.value)],
        }
        await self._json(send, 200, response)
        return 200

    def _payload(self, request: Any) -> dict[str, Any]:
        import numpy as np

        if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
            raise ValueError("the body must be an object with an 'inputs' list")
        assert self.script is not None
        inputs = request["inputs"]
        names = [p.name for p in self.script.params]
        payload: dict[str, Any] = {}
        for item in inputs:
            name = item["name"]
            if len(inputs) == 1 and len(names) == 1:
                name = names[0]
            data = item["data"]
            shape = item.get("shape")
            dtype = _DTYPES.get(str(item.get("datatype", "")).upper())
            if dtype is not None and shape:
                data = np.asarray(data, dtype=dtype).reshape(shape).tolist()
            elif shape == [1] and isinstance(data, list) and len(data) == 1:
                data = data[0]
            payload[name] = data
        return payload


def _output(value: Any) -> dict[str, Any]:
    import numpy as np

    try:
        array = np.asarray(value)
    except Exception:
        array = None
    if array is not None and array.dtype.kind in "biuf":
        return {
            "name": "output-0",
            "datatype": _REVERSE.get(str(array.dtype), "FP64"),
            "shape": list(array.shape),
            "data": array.reshape(-1).tolist(),
        }
    text = value if isinstance(value, str) else _http.dumps(value).decode()
    return {"name": "output-0", "datatype": "BYTES", "shape": [1], "data": [text]}
