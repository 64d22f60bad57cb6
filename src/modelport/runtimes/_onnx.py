"""ONNX graphs as the built-in runtime serves them, through onnxruntime.

Each graph input is a run() parameter of the same name (non-identifier characters become
'_'); its dtype and shape are checked against the graph before running. The answer is an
object with one entry per graph output.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelport import settings
from modelport.errors import InvalidArgument
from modelport.runtimes._script import tensor_probe_requests
from modelport.runtimes._serving import input_names, jsonable, require

FEATURE = "The ONNX runtime"
THREADS_VAR = "MODELPORT_ONNX_THREADS"
_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(uint8)": np.uint8,
    "tensor(uint16)": np.uint16,
    "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.str_,
}


def load_session(path: Path) -> Any:
    """An onnxruntime session on the CPU; one intra-op thread by default, because the server
    already runs one worker per core (MODELPORT_ONNX_THREADS changes it)."""
    ort = require("onnxruntime", "onnx", FEATURE)
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.get(THREADS_VAR)
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail / InvalidProtobuf / InvalidGraph
        raise InvalidArgument(f"{path.name} is not a valid ONNX graph: {exc}") from None


class OnnxModel:
    """A session, the graph's inputs as run() parameters, and batched runs."""

    def __init__(self, session: Any) -> None:
        from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
        from inference_schema.parameter_types.standard_py_parameter_type import (
            StandardPythonParameterType,
        )

        self.session = session
        graph_inputs = session.get_inputs()
        self.names = input_names([i.name for i in graph_inputs])  # parameter → graph name
        self.specs: dict[str, tuple[Any, list[int | None]]] = {}
        self.input_types: dict[str, Any] = {}
        examples: dict[str, Any] = {}
        for param, node in zip(self.names, graph_inputs, strict=True):
            dtype = _DTYPES.get(node.type)
            if dtype is None:
                raise InvalidArgument(
                    f"ONNX input {node.name!r} has type {node.type}, which the no-code ONNX "
                    "runtime cannot take from JSON.",
                    hint="Deploy with an entry script that builds that input.",
                )
            shape = [d if isinstance(d, int) and d >= 0 else None for d in node.shape]
            self.specs[param] = (dtype, shape)
            example = _example(dtype, shape)
            examples[param] = example
            fixed = all(d is not None for d in shape[1:])
            self.input_types[param] = NumpyParameterType(
                example, enforce_column_type=dtype is not np.str_, enforce_shape=fixed
            )
        outputs = session.get_outputs()
        self.output_names = [o.name for o in outputs]
        self.defaults: dict[str, Any] = {}
        self.batchable = all(s[1] and s[1][0] is None for s in self.specs.values()) and all(
            not o.type.startswith("tensor") or (o.shape and not isinstance(o.shape[0], int))
            for o in outputs
        )
        self.output_type = StandardPythonParameterType(self.predict([examples])[0])

    def check(self, inputs: dict[str, Any]) -> str | None:
        for param, (dtype, shape) in self.specs.items():
            value = inputs[param]
            name = self.names[param]
            if not isinstance(value, np.ndarray):
                return f"ONNX input {name!r} must be an array."
            if dtype is not np.str_ and value.dtype != dtype:
                return f"ONNX input {name!r} must hold {np.dtype(dtype).name}, got {value.dtype}."
            if value.ndim != len(shape):
                return f"ONNX input {name!r} must have {len(shape)} dimensions, got {value.ndim}."
            for axis, (want, got) in enumerate(zip(shape, value.shape, strict=True)):
                if want is not None and want != got:
                    return f"ONNX input {name!r} must have size {want} on axis {axis}, got {got}."
        return None

    def rows(self, inputs: dict[str, Any]) -> int:
        return int(inputs[next(iter(self.specs))].shape[0])

    def batch_key(self, inputs: dict[str, Any]) -> Hashable:
        return None

    def probe(self) -> list[dict[str, Any]] | None:
        return tensor_probe_requests({p: s for p, s in self.specs.items()})

    def predict(self, requests: Sequence[dict[str, Any]]) -> list[Any]:
        if len(requests) == 1:
            feeds = {self.names[p]: _feed(requests[0][p]) for p in self.specs}
            values = self.session.run(None, feeds)
            return [dict(zip(self.output_names, map(jsonable, values), strict=True))]
        feeds = {self.names[p]: _feed(np.concatenate([r[p] for r in requests])) for p in self.specs}
        values = self.session.run(None, feeds)
        sizes = [self.rows(r) for r in requests]
        answers: list[dict[str, Any]] = [{} for _ in requests]
        for name, value in zip(self.output_names, values, strict=True):
            start = 0
            for answer, size in zip(answers, sizes, strict=True):
                answer[name] = jsonable(value[start : start + size])
                start += size
            if start != len(value):
                raise ValueError(f"output {name!r} has {len(value)} rows for {start} input rows")
        return answers


def _example(dtype: Any, shape: list[int | None]) -> Any:
    dims = tuple(1 if d is None else d for d in shape)
    if dtype is np.str_:
        return np.full(dims, "a", dtype=np.str_)
    return np.zeros(dims, dtype=dtype)


def _feed(value: Any) -> Any:
    # onnxruntime takes string tensors as object arrays
    return value.astype(object) if value.dtype.kind == "U" else value
