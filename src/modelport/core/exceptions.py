"""`azureml.exceptions` equivalents (the same list as `modelport.exceptions`)."""

from modelport.exceptions import *  # noqa: F403
from modelport.exceptions import __all__ as __all__
