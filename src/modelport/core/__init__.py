"""Drop-in import paths for Azure ML v1 code: replace `azureml.core` with `modelport.core`.

`from azureml.core import Workspace, Model` becomes `from modelport.core import Workspace, Model`;
the sub-modules (`modelport.core.model`, `.webservice`, `.environment`, …) mirror v1's.
"""

from __future__ import annotations

import importlib
import importlib.util

from modelport import _EXPORTS, VERSION
from modelport import __getattr__ as _package_getattr

__all__ = ["VERSION", *_EXPORTS]


def __getattr__(name: str) -> object:
    """The exported names, and the sub-modules on first use: v1's `azureml.core` imports its
    sub-modules, so code after `import azureml.core` writes `azureml.core.webservice.X`."""
    if name in _EXPORTS:
        return _package_getattr(name)
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
