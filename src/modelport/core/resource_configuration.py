"""`azureml.core.resource_configuration` equivalent."""

from modelport.registry.resources import ResourceConfiguration

__all__ = ["ResourceConfiguration"]
