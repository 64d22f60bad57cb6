"""`azureml.exceptions` equivalents: `from modelport.exceptions import WebserviceException`."""

from modelport.errors import (
    DeploymentError,
    ModelportError,
    NotFound,
    UserError,
    WebserviceException,
)

# v1 names that code catches
AzureMLException = ModelportError
UserErrorException = UserError
ModelNotFoundException = NotFound

__all__ = [
    "AzureMLException",
    "DeploymentError",
    "ModelNotFoundException",
    "ModelportError",
    "NotFound",
    "UserError",
    "UserErrorException",
    "WebserviceException",
]
