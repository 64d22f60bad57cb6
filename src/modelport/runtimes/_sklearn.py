"""scikit-learn estimators as the built-in runtime serves them: `{"data": rows}` → predictions.

The schema comes from the fitted estimator: `feature_names_in_` gives named columns (a
DataFrame input), `n_features_in_` the width of a numeric array; a request may ask for
`"method": "predict_proba"` when the estimator has it.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import InvalidArgument
from modelport.runtimes._script import PROBE_SIZES
from modelport.runtimes._serving import jsonable, require

log = logging.getLogger("modelport.runtimes")

METHODS = ("predict", "predict_proba")
FEATURE = "The scikit-learn runtime"


def load_estimator(path: Path) -> Any:
    """Unpickle with joblib (plain pickles too) and check there is something to predict with."""
    joblib = require("joblib", "sklearn", FEATURE)
    require("sklearn", "sklearn", FEATURE)
    try:
        estimator = joblib.load(path)
    except Exception as exc:
        raise InvalidArgument(
            f"{path.name} is not a valid scikit-learn model: it cannot be unpickled "
            f"({type(exc).__name__}: {exc})."
        ) from None
    if not callable(getattr(estimator, "predict", None)):
        raise InvalidArgument(
            f"{path.name} is not a valid scikit-learn model: it holds a "
            f"{type(estimator).__name__}, which has no predict() method."
        )
    return estimator


class SklearnModel:
    """A fitted estimator, its request schema and batched prediction."""

    batchable = True

    def __init__(self, estimator: Any) -> None:
        from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
        from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
        from inference_schema.parameter_types.standard_py_parameter_type import (
            StandardPythonParameterType,
        )

        self.estimator = estimator
        self.methods = [m for m in METHODS if callable(getattr(estimator, m, None))]
        names = getattr(estimator, "feature_names_in_", None)
        width = getattr(estimator, "n_features_in_", None)
        self.columns = [str(c) for c in names] if names is not None else None
        self._width = width if isinstance(width, int) else None
        example: Any
        if self.columns is not None:
            import pandas as pd

            example = pd.DataFrame(np.zeros((1, len(self.columns))), columns=self.columns)
            data_type: Any = PandasParameterType(example)
        elif isinstance(width, int):
            example = np.zeros((1, width))
            data_type = NumpyParameterType(example)
        else:  # an estimator from before n_features_in_: any rectangular list of numbers
            example = [[0.0]]
            data_type = StandardPythonParameterType(example)
        self.input_types = {"data": data_type, "method": StandardPythonParameterType("predict")}
        self.defaults = {"method": "predict"}
        try:
            output = self.predict([{"data": example, "method": "predict"}])[0]
        except Exception as exc:  # e.g. a pipeline whose encoder rejects zeros
            log.warning(
                "could not score the schema example (%s); the output example is generic", exc
            )
            output = [0.0]
        self.output_type = StandardPythonParameterType(output)

    def check(self, inputs: dict[str, Any]) -> str | None:
        method = inputs.get("method", "predict")
        if method not in self.methods:
            return f"'method' must be one of {', '.join(self.methods)}; got {method!r}."
        data = inputs["data"]
        if self.columns is not None and hasattr(data, "columns"):
            missing = [c for c in self.columns if c not in data.columns]
            if missing:
                return f"'data' lacks the column(s) {', '.join(missing)} the model was trained on."
        return None

    def rows(self, inputs: dict[str, Any]) -> int:
        return len(inputs["data"])

    def batch_key(self, inputs: dict[str, Any]) -> Hashable:
        return str(inputs.get("method", "predict"))

    def predict(self, requests: Sequence[dict[str, Any]]) -> list[Any]:
        method = getattr(self.estimator, str(requests[0].get("method", "predict")))
        frames = [self._frame(r["data"]) for r in requests]
        if len(frames) == 1:
            return [jsonable(method(frames[0]))]
        if self.columns is not None:
            import pandas as pd

            merged: Any = pd.concat(frames, ignore_index=True)
        else:
            merged = np.concatenate(frames)
        return split(method(merged), [len(f) for f in frames])

    def probe(self) -> list[dict[str, Any]] | None:
        width = len(self.columns) if self.columns is not None else self._width
        if width is None:
            return None
        rng = np.random.default_rng(0)
        requests = []
        for size in PROBE_SIZES:
            data: Any = rng.normal(size=(size, width))
            if self.columns is not None:
                import pandas as pd

                data = pd.DataFrame(data, columns=self.columns)
            requests += [{"data": data, "method": m} for m in self.methods]
        return requests

    def _frame(self, data: Any) -> Any:
        if self.columns is not None and hasattr(data, "columns"):
            return data[self.columns]  # the training order; extra columns dropped
        return data if isinstance(data, np.ndarray) else np.asarray(data)


def split(output: Any, sizes: Sequence[int]) -> list[Any]:
    """Cut a batch's output back into one JSON-able answer per request."""
    answers = []
    start = 0
    for size in sizes:
        answers.append(jsonable(output[start : start + size]))
        start += size
    if start != len(output):
        raise ValueError(f"the model returned {len(output)} rows for {start} input rows")
    return answers
