"""`azureml.core.run` equivalent."""

from modelport.registry.runs import Run

__all__ = ["Run"]
