"""inference_schema integration: argument conversion before run() and the swagger documents.

Converting in the server (rather than inside the decorated run) lets a payload that does not fit
the sample answer 400 naming the parameter; the decorator then sees already-typed values and
leaves them alone.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelport.scoring.config import ServerConfig


class InputMismatch(Exception):
    """A request value does not fit the @input_schema sample (answered with 400)."""


class SwaggerUnavailable(Exception):
    """No document for that version (answered with 404)."""


@dataclass(frozen=True)
class Converter:
    """One @input_schema parameter: its inference_schema type and whether it may be absent."""

    name: str
    param_type: Any
    optional: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "_fast", numpy_fast_path(self.param_type))

    def __call__(self, value: Any) -> Any:
        from inference_schema.schema_decorators import _deserialize_input_argument

        if self.optional and not value:
            return value
        try:
            fast = self._fast  # type: ignore[attr-defined]
            if fast is not None:
                return fast(value)
            return _deserialize_input_argument(value, self.param_type, self.name)
        except Exception as exc:
            raise InputMismatch(
                f"Invalid value for the {self.name!r} parameter: expected {self.expected()}. {exc}"
            ) from None

    def expected(self) -> str:
        return describe(self.param_type)


def numpy_fast_path(param_type: Any) -> Callable[[Any], Any] | None:
    """inference_schema's NumpyParameterType conversion for plain numeric samples, without
    its per-row preprocessing (a no-op for such dtypes, and a third of a light model's request
    time). The same checks and messages; `test_schema_fast_path` compares both on many inputs."""
    try:
        import numpy as np
        from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
    except ImportError:
        return None
    if type(param_type) is not NumpyParameterType:
        return None
    sample = param_type.sample_input
    dtype = sample.dtype
    if len(dtype) or dtype.kind in "mMOSUV":  # structured, dates, objects, strings: the slow way
        return None
    expected = sample.shape
    enforce_type, enforce_shape = param_type.enforce_column_type, param_type.enforce_shape

    def convert(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return value
        if not isinstance(value, list):
            raise ValueError("Invalid input format: expected an array of items.")
        array = np.array(value, dtype=dtype) if enforce_type else np.array(value)
        if enforce_shape:
            shape = array.shape
            if len(shape) != len(expected):
                raise ValueError(
                    f"Invalid input array: an array with {len(expected)} dimensions is expected; "
                    f"input has {len(shape)} [shape {shape}]"
                )
            for dim in range(1, len(expected)):
                if shape[dim] != expected[dim]:
                    raise ValueError(
                        f"Invalid input array: array has size {shape[dim]} on dimension #{dim}, "
                        f"while expected value is {expected[dim]}"
                    )
        return array

    return convert


def is_decorated(run: Callable[..., Any]) -> bool:
    from inference_schema.schema_util import is_schema_decorated

    return bool(is_schema_decorated(run))


def converters(run: Callable[..., Any]) -> dict[str, Converter]:
    """Walk the wrapt decorator chain and collect each @input_schema's parameter type."""
    found: dict[str, Converter] = {}
    target: Any = run
    seen = 0
    while hasattr(target, "_self_wrapper") and seen < 64:
        seen += 1
        wrapper = target._self_wrapper
        try:
            free = inspect.getclosurevars(wrapper).nonlocals
        except (TypeError, ValueError):
            free = {}
        wanted = free.get("convert_to_provided_type", True)
        if "param_name" in free and "param_type" in free and wanted:
            name = free["param_name"]
            optional = bool(free.get("optional", False))
            found.setdefault(name, Converter(name, free["param_type"], optional))
        target = target.__wrapped__
    return found


def describe(param_type: Any) -> str:
    """Plain words for what a parameter type accepts, for 400 messages."""
    kind = type(param_type).__name__
    sample = getattr(param_type, "sample_input", None)
    if kind == "NumpyParameterType" and sample is not None:
        dims = ", ".join(["N", *(str(d) for d in sample.shape[1:])])
        return f"a JSON array of {sample.dtype} values with shape ({dims})"
    if kind == "PandasParameterType" and sample is not None:
        orient = getattr(param_type, "orient", "records")
        return f"a table in pandas '{orient}' form with columns {list(map(str, sample.columns))}"
    if kind == "StandardPythonParameterType":
        return f"a JSON {_json_type(sample)}"
    if kind == "SparkParameterType":
        return "a list of records for a Spark DataFrame"
    return f"a value matching the sample of {kind}"


def _json_type(sample: Any) -> str:
    for py, name in (
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (dict, "object"),
        (list, "array"),
        (tuple, "array"),
    ):
        if isinstance(sample, py):
            return name
    return type(sample).__name__


# ----------------------------------------------------------------------------- swagger

_VERSIONS = {"2": "2", "2.0": "2", "3": "3", "3.0": "3", "3.1": "3.1"}
_PUBLIC_VERSIONS = ["2", "3", "3.1"]
_ERROR_RESPONSE = {
    "type": "object",
    "properties": {
        "status_code": {"type": "integer", "format": "int32"},
        "message": {"type": "string"},
    },
}
_BEARER = {
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
    "description": "For example: Bearer abc123",
}
_HEALTH_DESC = "Simple health check endpoint to ensure the service is up at any given point."
_HEALTH_OK = (
    "If service is up and running, this response will be returned with the content 'Healthy'"
)
_ERROR_DESC = "The service failed to execute due to an error."
_SCORE_DESC = "Run web service's model and get the prediction output"
_INPUT_DESC = "The input payload for executing the real-time machine learning service."
_OUTPUT_DESC = (
    "The service processed the input correctly and provided a result prediction, if applicable."
)


class SwaggerDocs:
    """The documents for one script, built once at start-up and served as bytes."""

    def __init__(self, run: Callable[..., Any] | None, config: ServerConfig) -> None:
        self.docs: dict[str, bytes] = {}
        self.supported: list[str] = []
        app_root = config.app_root or os.getcwd()
        for version in _PUBLIC_VERSIONS:
            doc = _user_document(app_root, version)
            if doc is None and run is not None:
                doc = _generate(run, config, version)
            if doc is not None:
                self.docs[version] = json.dumps(doc).encode()
                self.supported.append(version)

    def get(self, requested: str | None) -> bytes:
        version = _VERSIONS.get("2" if requested is None else requested)
        listed = ", ".join(self.supported)
        if version is None:
            raise SwaggerUnavailable(
                f"Swagger version [{requested}] is not valid. Supported versions: [{listed}]."
            )
        doc = self.docs.get(version)
        if doc is None:
            if not self.supported:
                raise SwaggerUnavailable(
                    "No swagger document: the entry script's run() declares no "
                    "@input_schema/@output_schema and the app root has no swagger file."
                )
            raise SwaggerUnavailable(
                f"Swagger version [{requested}] is not supported for the scoring script. "
                f"Supported swagger versions: [{listed}]."
            )
        return doc

    def input_schema(self) -> dict[str, Any] | None:
        raw = self.docs.get("2")
        return json.loads(raw)["definitions"]["ServiceInput"] if raw else None


def _user_document(app_root: str, version: str) -> dict[str, Any] | None:
    names = {
        "2": ["swagger.json", "swagger2.json"],
        "3": ["swagger3.json"],
        "3.1": ["swagger3.json"],
    }
    for name in names[version]:
        path = os.path.join(app_root, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                doc: dict[str, Any] = json.load(f)
            return doc
    return None


def _generate(run: Callable[..., Any], config: ServerConfig, version: str) -> dict[str, Any] | None:
    from inference_schema.schema_util import (
        get_input_schema,
        get_output_schema,
        get_supported_versions,
        is_schema_decorated,
    )

    if not is_schema_decorated(run):
        return None
    wanted = {"2": {"2", "2.0"}, "3": {"3", "3.0"}, "3.1": {"3.1"}}[version]
    if not wanted & set(get_supported_versions(run)):
        return None
    inputs = copy.deepcopy(get_input_schema(run))
    outputs = copy.deepcopy(get_output_schema(run))
    prefix = f"/{config.service_path_prefix.strip('/')}" if config.service_path_prefix else ""
    name, service_version = config.service_name, config.service_version
    if version == "2":
        return _swagger2(name, service_version, prefix, inputs, outputs)
    doc = _openapi3(name, service_version, prefix, inputs, outputs)
    if version == "3.1":
        doc["openapi"] = "3.1.0"
    return doc


def _swagger2(name: str, version: str, prefix: str, inputs: Any, outputs: Any) -> dict[str, Any]:
    error_ref = {"description": _ERROR_DESC, "schema": {"$ref": "#/definitions/ErrorResponse"}}
    return {
        "swagger": "2.0",
        "info": {
            "title": name,
            "description": f"API specification for Azure Machine Learning {name}",
            "version": version,
        },
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {"Bearer": dict(_BEARER)},
        "paths": {
            f"{prefix}/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    "description": _HEALTH_DESC,
                    "responses": {
                        "200": {
                            "description": _HEALTH_OK,
                            "schema": {"type": "string"},
                            "examples": {"application/json": "Healthy"},
                        },
                        "default": error_ref,
                    },
                }
            },
            f"{prefix}/score": {
                "post": {
                    "operationId": "RunMLService",
                    "description": _SCORE_DESC,
                    "security": [{"Bearer": []}],
                    "parameters": [
                        {
                            "name": "serviceInputPayload",
                            "in": "body",
                            "description": _INPUT_DESC,
                            "schema": {"$ref": "#/definitions/ServiceInput"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": _OUTPUT_DESC,
                            "schema": {"$ref": "#/definitions/ServiceOutput"},
                        },
                        "default": copy.deepcopy(error_ref),
                    },
                }
            },
        },
        "definitions": {
            "ServiceInput": inputs,
            "ServiceOutput": outputs,
            "ErrorResponse": copy.deepcopy(_ERROR_RESPONSE),
        },
    }


def _openapi3(name: str, version: str, prefix: str, inputs: Any, outputs: Any) -> dict[str, Any]:
    def error() -> dict[str, Any]:
        return {
            "description": _ERROR_DESC,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            },
        }

    return {
        "openapi": "3.0.3",
        "info": {
            "title": name,
            "description": f"API specification for Azure Machine Learning {name}",
            "version": version,
        },
        "security": [{"Bearer": []}],
        "paths": {
            f"{prefix}/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    "description": _HEALTH_DESC,
                    "responses": {
                        "200": {
                            "description": _HEALTH_OK,
                            "content": {
                                "text/plain": {"schema": {"type": "string", "example": "Healthy"}}
                            },
                        },
                        "default": error(),
                    },
                }
            },
            f"{prefix}/score": {
                "post": {
                    "operationId": "RunMLService",
                    "description": _SCORE_DESC,
                    "security": [{"Bearer": []}],
                    "requestBody": {
                        "description": _INPUT_DESC,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ServiceInput"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": _OUTPUT_DESC,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ServiceOutput"}
                                }
                            },
                        },
                        "default": error(),
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "ServiceInput": inputs,
                "ServiceOutput": outputs,
                "ErrorResponse": copy.deepcopy(_ERROR_RESPONSE),
            },
            "securitySchemes": {"Bearer": dict(_BEARER)},
        },
    }
