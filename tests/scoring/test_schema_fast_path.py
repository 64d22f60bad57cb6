"""The numpy fast path converts exactly as inference_schema does, errors included."""

from __future__ import annotations

import numpy as np
import pytest
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.schema_decorators import _deserialize_input_argument

from modelport.scoring.schema import numpy_fast_path

SAMPLES = [
    NumpyParameterType(np.array([[0.1, 0.2, 0.3]])),
    NumpyParameterType(np.array([[1, 2], [3, 4]], dtype=np.int32)),
    NumpyParameterType(np.array([[[1.0], [2.0]]], dtype=np.float32)),
    NumpyParameterType(np.array([[0.1, 0.2]]), enforce_shape=False),
    NumpyParameterType(np.array([[0.1, 0.2]]), enforce_column_type=False),
    NumpyParameterType(np.array([True, False])),
]
INPUTS = [
    [[1, 2, 3]],
    [[1, 2, 3], [4, 5, 6]],
    [[1, 2]],
    [[[1], [2]]],
    [1, 2, 3],
    [[1.5, 2.5], [3.5, 4.5]],
    [["1", "2", "3"]],
    [[1, "x", 3]],
    [],
    [[]],
    "not a list",
    {"a": 1},
    [[1, 2, 3], [4, 5]],
    [True, False, True],
    [[1e308, -1e308, 0]],
]


def _outcome(convert, value):
    try:
        result = convert(value)
    except Exception as exc:
        return "error", type(exc).__name__, str(exc)
    return "ok", result.dtype.str, result.shape, result.tolist()


@pytest.mark.parametrize("param_type", SAMPLES, ids=lambda p: str(p.sample_input.dtype))
@pytest.mark.parametrize("value", INPUTS, ids=repr)
def test_same_result_as_inference_schema(param_type, value) -> None:
    import copy

    fast = numpy_fast_path(param_type)
    assert fast is not None
    reference = _outcome(
        lambda v: _deserialize_input_argument(v, param_type, "data"), copy.deepcopy(value)
    )
    assert _outcome(fast, copy.deepcopy(value)) == reference


def test_structured_and_date_samples_take_the_slow_path() -> None:
    structured = np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])
    assert numpy_fast_path(NumpyParameterType(structured)) is None
    dates = np.array(["2020-01-01"], dtype="datetime64[D]")
    assert numpy_fast_path(NumpyParameterType(dates)) is None
    assert numpy_fast_path(object()) is None
