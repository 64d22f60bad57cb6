"""`azureml.core.experiment` equivalent."""

from modelport.registry.runs import Experiment

__all__ = ["Experiment"]
