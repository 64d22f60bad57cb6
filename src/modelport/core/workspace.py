"""`azureml.core.workspace` equivalent."""

from modelport.workspace import Workspace

__all__ = ["Workspace"]
