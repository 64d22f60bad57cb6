"""`azureml.core.dataset` equivalents (request datasets for profiling)."""

from types import SimpleNamespace

from modelport.registry.datasets import (
    Dataset,
    DatasetConsumptionConfig,
    Datastore,
    FileDataset,
    PromoteHeadersBehavior,
    TabularDataset,
)

# `from azureml.data import dataset_type_definitions` → the same names, reachable from here.
dataset_type_definitions = SimpleNamespace(PromoteHeadersBehavior=PromoteHeadersBehavior)

__all__ = [
    "Dataset",
    "DatasetConsumptionConfig",
    "Datastore",
    "FileDataset",
    "PromoteHeadersBehavior",
    "TabularDataset",
    "dataset_type_definitions",
]
