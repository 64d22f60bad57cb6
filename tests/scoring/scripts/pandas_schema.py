"""PandasParameterType input: accepts records and column-dict payloads."""
import numpy as np
import pandas as pd
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.schema_decorators import input_schema, output_schema

input_sample = pd.DataFrame(data=[{"input_name_1": 5.1, "input_name_2": "value2", "input_name_3": 3}])
output_sample = np.array([0.0])


def init():
    pass


@input_schema("data", PandasParameterType(input_sample))
@output_schema(NumpyParameterType(output_sample))
def run(data):
    assert isinstance(data, pd.DataFrame)
    return (data["input_name_1"] * data["input_name_3"]).tolist()
