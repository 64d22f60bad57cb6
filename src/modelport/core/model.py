"""`azureml.core.model` equivalents."""

from modelport.deploy.config import InferenceConfig
from modelport.packaging.package import ModelPackage
from modelport.registry.models import Model
from modelport.registry.resources import ResourceConfiguration

__all__ = ["InferenceConfig", "Model", "ModelPackage", "ResourceConfiguration"]
