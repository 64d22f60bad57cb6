"""`azureml.core.compute_target` equivalent: where v1 notebooks import ComputeTargetException
from (`from azureml.core.compute_target import ComputeTargetException`)."""

from modelport.errors import ComputeTargetException

__all__ = ["ComputeTargetException"]
