"""`azureml.contrib.services.aml_request`: the request object `@rawhttp` scripts receive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from werkzeug.wrappers import Request

F = TypeVar("F", bound=Callable[..., Any])

# Like the reference, the decorator flips a module-wide switch: the server then passes the
# request object to run().
_rawHttpRequested = False


def rawhttp(func: F) -> F:
    """Mark run() as wanting the raw HTTP request (an AMLRequest) instead of parsed input."""
    global _rawHttpRequested
    _rawHttpRequested = True
    return func


class AMLRequest(Request):
    """A werkzeug Request: `method`, `get_data()`, `args`, `files`, `form`, `get_json()`..."""
