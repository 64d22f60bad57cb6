"""Drop-in import paths for Azure ML v1 code: replace `azureml.core` with `modelport.core`.

`from azureml.core import Workspace, Model` becomes `from modelport.core import Workspace, Model`;
the sub-modules (`modelport.core.model`, `.webservice`, `.environment`, …) mirror v1's.
"""

from __future__ import annotations

from modelport import _EXPORTS, VERSION
from modelport import __getattr__ as _package_getattr

__all__ = ["VERSION", *_EXPORTS]


def __getattr__(name: str) -> object:
    return _package_getattr(name)
