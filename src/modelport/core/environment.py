"""`azureml.core.environment` equivalent."""

from modelport.environments import CondaDependencies, Environment

__all__ = ["CondaDependencies", "Environment"]
