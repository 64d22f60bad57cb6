"""MLflow models (a folder with an `MLmodel` file) as the built-in runtime serves them,
through `mlflow.pyfunc`: `{"data": ...}` in the shape of the model's signature or example."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import InvalidArgument
from modelport.runtimes._script import PROBE_SIZES
from modelport.runtimes._serving import jsonable, require
from modelport.runtimes._sklearn import split

log = logging.getLogger("modelport.runtimes")
FEATURE = "The MLflow runtime"
_COLUMN_DEFAULTS = {"string": "", "boolean": False, "integer": 0, "long": 0, "binary": ""}


def load_pyfunc(folder: Path) -> Any:
    pyfunc = require("mlflow.pyfunc", "mlflow", FEATURE)
    try:
        return pyfunc.load_model(str(folder))
    except ImportError:
        raise
    except Exception as exc:
        raise InvalidArgument(f"{folder.name} is not a loadable MLflow model: {exc}") from None


class MlflowModel:
    """A pyfunc model, a `data` parameter shaped by its signature, and batched predict."""

    batchable = True

    def __init__(self, pyfunc: Any, folder: Path) -> None:
        from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
        from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
        from inference_schema.parameter_types.standard_py_parameter_type import (
            StandardPythonParameterType,
        )

        self.pyfunc = pyfunc
        example = self._example = _example(pyfunc, folder)
        if hasattr(example, "columns"):
            data_type: Any = PandasParameterType(example)
        elif isinstance(example, np.ndarray):
            data_type = NumpyParameterType(example)
        else:
            data_type = StandardPythonParameterType(example)
        self.input_types = {"data": data_type}
        self.defaults: dict[str, Any] = {}
        try:
            output = self.predict([{"data": example}])[0]
        except Exception as exc:
            log.warning(
                "could not score the schema example (%s); the output example is generic", exc
            )
            output = [0.0]
        self.output_type = StandardPythonParameterType(output)

    def check(self, inputs: dict[str, Any]) -> str | None:
        return None

    def rows(self, inputs: dict[str, Any]) -> int:
        return len(inputs["data"])

    def batch_key(self, inputs: dict[str, Any]) -> Hashable:
        return type(inputs["data"]).__name__

    def probe(self) -> list[dict[str, Any]] | None:
        example = self._example
        rng = np.random.default_rng(0)
        if isinstance(example, np.ndarray) and np.issubdtype(example.dtype, np.floating):
            shape = example.shape[1:]
            return [
                {"data": rng.normal(size=(n, *shape)).astype(example.dtype)} for n in PROBE_SIZES
            ]
        if hasattr(example, "columns") and all(
            np.issubdtype(t, np.floating) for t in example.dtypes
        ):
            import pandas as pd

            return [
                {
                    "data": pd.DataFrame(
                        rng.normal(size=(n, len(example.columns))), columns=example.columns
                    ).astype(example.dtypes.to_dict())
                }
                for n in PROBE_SIZES
            ]
        return None

    def predict(self, requests: Sequence[dict[str, Any]]) -> list[Any]:
        datas = [_frame(r["data"]) for r in requests]
        if len(datas) == 1:
            return [jsonable(self.pyfunc.predict(datas[0]))]
        if hasattr(datas[0], "columns"):
            import pandas as pd

            merged: Any = pd.concat(datas, ignore_index=True)
        else:
            merged = np.concatenate(datas)
        return split(self.pyfunc.predict(merged), [len(d) for d in datas])


def _frame(data: Any) -> Any:
    if isinstance(data, list):
        import pandas as pd

        return pd.DataFrame(data)
    return data


def _example(pyfunc: Any, folder: Path) -> Any:
    """The saved input example, else one built from the signature, else a generic table."""
    metadata = pyfunc.metadata
    try:
        saved = metadata.load_input_example(str(folder))
    except Exception:  # no example, or one that cannot be read back
        saved = None
    if saved is not None and (hasattr(saved, "columns") or isinstance(saved, np.ndarray)):
        return saved
    schema = metadata.get_input_schema()
    if schema is None:
        return [[0.0]]
    if schema.is_tensor_spec():
        spec = schema.inputs[0]
        dims = tuple(1 if d is None or d < 0 else d for d in spec.shape)
        return np.zeros(dims, dtype=spec.type)
    import pandas as pd

    row = {
        col.name: _COLUMN_DEFAULTS.get(str(col.type.name) if hasattr(col.type, "name") else "", 0.0)
        for col in schema.inputs
    }
    return pd.DataFrame([row])
