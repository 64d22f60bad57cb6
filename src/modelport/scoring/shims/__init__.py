"""Stand-ins for the azureml modules v1 entry scripts import inside a service.

`install()` appends a finder to the END of `sys.meta_path`: it answers only for the names
below and only after every real finder failed, so an installed azureml package always wins.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

# module name -> module that implements it ("" = an empty package).
ALIASES: dict[str, str] = {
    "azureml": "",
    "azureml.contrib": "",
    "azureml.contrib.services": "",
    "azureml.contrib.services.aml_request": "modelport.scoring.shims.aml_request",
    "azureml.contrib.services.aml_response": "modelport.scoring.shims.aml_response",
    "azureml.core": "",
    "azureml.core.model": "modelport.scoring.shims.model",
    "azureml.core.run": "modelport.scoring.shims.run",
    "azureml.monitoring": "modelport.scoring.shims.monitoring",
    # Published scripts still do `from sklearn.externals import joblib` (removed in sklearn 0.23).
    "sklearn.externals.joblib": "joblib",
}


# names an empty shim package offers lazily: `from azureml.core import Model` in a score.py.
PACKAGE_EXPORTS: dict[str, dict[str, str]] = {
    "azureml.core": {
        "Model": "modelport.scoring.shims.model",
        "Run": "modelport.scoring.shims.run",
    },
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        if self.target:
            # The import system re-reads sys.modules after exec_module, so the alias sticks.
            sys.modules[module.__name__] = importlib.import_module(self.target)
            return
        exports = PACKAGE_EXPORTS.get(module.__name__)
        if exports:

            def __getattr__(name: str) -> object:  # PEP 562 module hook
                if name not in exports:
                    raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
                return getattr(importlib.import_module(exports[name]), name)

            module.__getattr__ = __getattr__  # type: ignore[method-assign]


class ShimFinder(importlib.abc.MetaPathFinder):
    """Answers for ALIASES only when no real module of that name exists."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        target_name = ALIASES.get(fullname)
        if target_name is None:
            return None
        if target_name == "joblib" and importlib.util.find_spec("joblib") is None:
            return None
        is_package = target_name == ""
        spec = importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(target_name), origin="modelport-shim", is_package=is_package
        )
        if is_package:
            spec.submodule_search_locations = []
        return spec


def install() -> None:
    """Idempotent; call before loading an entry script."""
    if not any(isinstance(f, ShimFinder) for f in sys.meta_path):
        sys.meta_path.append(ShimFinder())


def raw_http_requested() -> bool:
    """True when a script applied `@rawhttp` (ours, or a real azureml/azmlinfsrv one)."""
    for name in (
        "modelport.scoring.shims.aml_request",
        "azureml.contrib.services.aml_request",
        "azureml_inference_server_http.api.aml_request",
    ):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "_rawHttpRequested", False):
            return True
    return False


def reset_raw_http() -> None:
    for name in ("modelport.scoring.shims.aml_request", "azureml.contrib.services.aml_request"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "_rawHttpRequested"):
            setattr(module, "_rawHttpRequested", False)  # noqa: B010
