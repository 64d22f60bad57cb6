# A schema'd service: bodies must be {"data": [[10 numbers], ...]}.
import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.schema_decorators import input_schema


def init():
    pass


@input_schema("data", NumpyParameterType(np.array([[1.0] * 10])))
def run(data):
    return data.sum(axis=1).tolist()
