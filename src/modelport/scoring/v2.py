"""Open Inference Protocol (KServe V2) routes for scripts with an @input_schema.

`/v2/health/live|ready`, `/v2/models/{name}` (metadata), `/v2/models/{name}/ready` and
`POST /v2/models/{name}[/versions/{v}]/infer`. Each V2 input feeds the run() parameter of the
same name through the same inference_schema conversion as /score.
"""

from __future__ import annotations

import re
from time import perf_counter
from typing import TYPE_CHECKING, Any

from modelport.scoring import _http
from modelport.scoring._http import RequestHeaders
from modelport.scoring.dataplane import SERVED, TIMED_OUT, DataPlane, Verdict, script_arguments

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from modelport.scoring._memory import HeapTrimmer
    from modelport.scoring.config import ServerConfig
    from modelport.scoring.entry import EntryScript
    from modelport.scoring.metrics import SharedState

    Send = Callable[[dict[str, Any]], Awaitable[None]]
    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Respond = Callable[..., Awaitable[None]]

JSON_CT = (b"content-type", b"application/json")
CONNECTION_CLOSE = (b"connection", b"close")
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
    """The V2 routes of one worker; scoring goes through the same data plane as /score."""

    def __init__(
        self,
        plane: DataPlane,
        state: SharedState,
        script: EntryScript | None,
        config: ServerConfig,
        respond: Respond,
        heap: HeapTrimmer,
    ) -> None:
        self.plane = plane
        self.heap = heap
        self.max_body = config.max_request_body_bytes
        self.state = state
        self.respond = respond
        self.script = script if script is not None and script.has_schema else None
        self.name = model_name(config)

    async def dispatch(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path: str = scope["path"].rstrip("/")
        method = scope["method"]
        parts = path.split("/")[2:]  # after "", "v2"
        ready = self.state.ready
        if parts in (["health", "live"], []) and method == "GET":
            body = {"live": True} if parts else {"name": "modelport", "extensions": []}
            await self._json(send, 200, body)
            return
        if parts == ["health", "ready"] and method == "GET":
            await self._json(send, 200 if ready else 503, {"ready": ready})
            return
        if len(parts) >= 2 and parts[0] == "models":
            if parts[1] != self.name or self.script is None:
                await self._error(send, 404, f"Model {parts[1]!r} is not served here.")
                return
            rest = parts[2:]
            if len(rest) >= 2 and rest[0] == "versions":
                rest = rest[2:]
            if rest == [] and method == "GET":
                await self._json(send, 200, self.metadata())
                return
            if rest == ["ready"] and method == "GET":
                await self._json(send, 200 if ready else 503, {"ready": ready})
                return
            if rest == ["infer"] and method == "POST":
                await self.infer(scope, receive, send)
                return
        await self._error(send, 404, f"No V2 route for {method} {scope['path']}.")

    async def _json(self, send: Send, status: int, body: Any) -> None:
        await self.respond(send, status, [JSON_CT], _http.dumps(body), None)

    async def _error(self, send: Send, status: int, message: str) -> int:
        """The V2 error shape (KServe's `{"error": ...}`), produced here only."""
        await self._json(send, status, {"error": message})
        return status

    async def _refuse(self, send: Send, verdict: Verdict) -> int:
        message = verdict.message
        if verdict.kind not in (TIMED_OUT,) and verdict.status == 500:
            message = "The scoring script failed; check the logs."
        return await self._error(send, verdict.status, message)

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
        start = perf_counter()
        status = await self._infer(scope, receive, send)
        self.plane.metrics.observe(1, status, perf_counter() - start)
        self.heap.release()

    async def _infer(self, scope: dict[str, Any], receive: Receive, send: Send) -> int:
        script = self.script
        assert script is not None
        req = RequestHeaders(scope["headers"])
        refused = self.plane.authorize(req.authorization) or self.plane.admit()
        if refused is not None:
            return await self._refuse(send, refused)
        try:
            body = await _http.read_body(receive, self.max_body, req.content_length)
        except _http.BodyTooLarge as exc:
            await self.respond(
                send, 413, [JSON_CT, CONNECTION_CLOSE], _http.dumps({"error": str(exc)}), None
            )
            return 413
        self.heap.pending += len(body)
        try:
            request = _http.loads(body)
            payload = self._payload(request)
        except (ValueError, TypeError, KeyError) as exc:
            return await self._error(send, 400, f"Invalid V2 inference request: {exc}")
        kwargs = script_arguments(script, payload)
        if isinstance(kwargs, tuple):
            return await self._error(send, kwargs[0], kwargs[1])
        if script.wants_headers:
            kwargs["request_headers"] = _http.title_headers(scope["headers"])
        verdict = await self.plane.infer(kwargs, str(request.get("id") or ""))
        if verdict.kind != SERVED:
            return await self._refuse(send, verdict)
        response: dict[str, Any] = {
            "model_name": self.name,
            "id": request.get("id") or "",
            "parameters": {},
            "outputs": [_output(verdict.value)],
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
