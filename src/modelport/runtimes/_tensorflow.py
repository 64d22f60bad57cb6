"""TensorFlow SavedModels as the built-in runtime serves them: the `serving_default` signature.

Each signature input is a run() parameter of the same name; the answer has one entry per
signature output.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import InvalidArgument
from modelport.runtimes._script import tensor_probe_requests
from modelport.runtimes._serving import input_names, jsonable, require

FEATURE = "The TensorFlow runtime"
SIGNATURE = "serving_default"


def load_signature(folder: Path) -> tuple[Any, Any]:
    """(the loaded object, its serving_default function); keep both alive together."""
    tf = require("tensorflow", "tensorflow", FEATURE)
    try:
        loaded = tf.saved_model.load(str(folder))
    except Exception as exc:
        raise InvalidArgument(
            f"{folder.name} is not a valid TensorFlow SavedModel: {exc}"
        ) from None
    signatures = dict(getattr(loaded, "signatures", {}) or {})
    if SIGNATURE not in signatures:
        raise InvalidArgument(
            f"SavedModel {folder.name} has no '{SIGNATURE}' signature "
            f"(it has: {', '.join(signatures) or 'none'}).",
            hint="Save it with signatures={'serving_default': ...} or model.export(path).",
        )
    return loaded, signatures[SIGNATURE]


class TensorflowModel:
    """A serving signature, its inputs as run() parameters, and batched calls."""

    def __init__(self, loaded: Any, signature: Any) -> None:
        import tensorflow as tf
        from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
        from inference_schema.parameter_types.standard_py_parameter_type import (
            StandardPythonParameterType,
        )

        self.loaded = loaded  # the signature's variables live as long as this object
        self.signature = signature
        self._tf = tf
        _, specs = signature.structured_input_signature
        self.names = input_names(sorted(specs))  # parameter → signature input name
        self.specs = {p: specs[n] for p, n in self.names.items()}
        self.input_types: dict[str, Any] = {}
        examples: dict[str, Any] = {}
        for param, spec in self.specs.items():
            shape = [None if d is None else int(d) for d in spec.shape.as_list()]
            is_text = spec.dtype == tf.string
            dims = tuple(1 if d is None else d for d in shape)
            example = np.full(dims, "a") if is_text else np.zeros(dims, spec.dtype.as_numpy_dtype)
            examples[param] = example
            self.input_types[param] = NumpyParameterType(
                example,
                enforce_column_type=not is_text,
                enforce_shape=all(d is not None for d in shape[1:]),
            )
        self.defaults: dict[str, Any] = {}
        self.batchable = all(s.shape.rank and s.shape[0] is None for s in self.specs.values())
        self.output_type = StandardPythonParameterType(self.predict([examples])[0])

    def check(self, inputs: dict[str, Any]) -> str | None:
        for param, spec in self.specs.items():
            if not spec.shape.is_compatible_with(np.shape(inputs[param])):
                return (
                    f"Input {self.names[param]!r} must have shape {spec.shape.as_list()} "
                    f"(None = any), got {list(np.shape(inputs[param]))}."
                )
        return None

    def rows(self, inputs: dict[str, Any]) -> int:
        return len(inputs[next(iter(self.specs))])

    def batch_key(self, inputs: dict[str, Any]) -> Hashable:
        return None

    def probe(self) -> list[dict[str, Any]] | None:
        return tensor_probe_requests(
            {
                p: (
                    s.dtype.as_numpy_dtype,
                    [None if d is None else int(d) for d in s.shape.as_list()],
                )
                for p, s in self.specs.items()
            }
        )

    def predict(self, requests: Sequence[dict[str, Any]]) -> list[Any]:
        tf = self._tf
        merged = {
            self.names[p]: tf.constant(
                requests[0][p] if len(requests) == 1 else np.concatenate([r[p] for r in requests]),
                dtype=spec.dtype,
            )
            for p, spec in self.specs.items()
        }
        outputs = {k: v.numpy() for k, v in self.signature(**merged).items()}
        if len(requests) == 1:
            return [{k: jsonable(v) for k, v in outputs.items()}]
        sizes = [self.rows(r) for r in requests]
        answers: list[dict[str, Any]] = [{} for _ in requests]
        for name, value in outputs.items():
            start = 0
            for answer, size in zip(answers, sizes, strict=True):
                answer[name] = jsonable(value[start : start + size])
                start += size
        return answers
