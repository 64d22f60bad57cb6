"""Stacked @input_schema decorators with StandardPythonParameterType, nested dicts, request_headers."""
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema
import numpy as np


def init():
    pass


@input_schema("factor", StandardPythonParameterType(2.0))
@input_schema("options", StandardPythonParameterType({"name": "x", "inner": {"k": 1},
                                                      "arr": NumpyParameterType(np.array([1.0, 2.0]))}))
@input_schema("text", StandardPythonParameterType("hello"))
@output_schema(StandardPythonParameterType({"text": "hello", "scaled": [2.0, 4.0]}))
def run(text, options, factor=1.0, request_headers=None):
    return {
        "text": text.upper(),
        "scaled": (options["arr"] * factor).tolist(),
        "arr_type": type(options["arr"]).__name__,
        "name": options["name"],
        "inner": options["inner"],
        "custom_header": (request_headers or {}).get("X-Custom"),
    }
