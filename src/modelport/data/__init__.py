"""`azureml.data` equivalent: `from modelport.data import dataset_type_definitions`."""

from modelport.core.dataset import dataset_type_definitions

__all__ = ["dataset_type_definitions"]
