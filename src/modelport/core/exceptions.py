"""`azureml.exceptions` equivalents."""

from modelport.errors import ModelportError, WebserviceException

__all__ = ["ModelportError", "WebserviceException"]
