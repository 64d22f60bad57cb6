"""`azureml.core.model` equivalents."""

from modelport.registry.models import Model
from modelport.registry.resources import ResourceConfiguration

__all__ = ["Model", "ResourceConfiguration"]
