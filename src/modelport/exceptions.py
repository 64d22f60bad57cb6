"""`azureml.exceptions` equivalents: every modelport error, plus the v1 names code catches.

`from modelport.exceptions import WebserviceException` (or `modelport.core.exceptions`) works
as `from azureml.exceptions import …` did; the classes are those of `modelport.errors`.
"""

from modelport.errors import *  # noqa: F403 - the one list of errors, re-exported
from modelport.errors import ModelportError, NotFound, UserError
from modelport.errors import __all__ as _errors

# v1 names that code catches
AzureMLException = ModelportError
UserErrorException = UserError
ModelNotFoundException = NotFound

__all__ = [*_errors, "AzureMLException", "ModelNotFoundException", "UserErrorException"]
