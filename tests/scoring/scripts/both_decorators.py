import numpy as np
from azureml.contrib.services.aml_request import rawhttp
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.schema_decorators import input_schema


def init():
    pass


@rawhttp
@input_schema("data", NumpyParameterType(np.array([[1.0]])))
def run(data):
    return data
