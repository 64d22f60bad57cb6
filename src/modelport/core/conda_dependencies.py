"""`azureml.core.conda_dependencies` equivalent."""

from modelport.environments import CondaDependencies

__all__ = ["CondaDependencies"]
