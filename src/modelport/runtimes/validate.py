"""Deploy-time checks that a registered file really is a model of its declared framework,
so a wrong file fails before a service starts, with the model and the file named.

Checks that need the framework's package run only when it is importable here; the others
(the folder layout, an MLmodel file) always run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.errors import InvalidArgument
from modelport.runtimes import _locate
from modelport.runtimes.frameworks import Runtime

if TYPE_CHECKING:
    from modelport.registry.models import Model


def validate(runtime: Runtime, model: Model, root: Path) -> None:
    try:
        _CHECKS[runtime.name](root)
    except InvalidArgument as exc:
        raise InvalidArgument(
            f"Model '{model.id}' is registered as {runtime.framework} but {exc.message}",
            hint=exc.hint or "Register a valid model file, or declare the right model_framework.",
        ) from None


def _sklearn(root: Path) -> None:
    path = _locate.find_file(root, _locate.SKLEARN_SUFFIXES)
    if _importable("sklearn") and _importable("joblib"):
        from modelport.runtimes._sklearn import load_estimator

        load_estimator(path)


def _onnx(root: Path) -> None:
    path = _locate.find_file(root, _locate.ONNX_SUFFIXES)
    if _importable("onnx"):
        import onnx

        try:
            onnx.checker.check_model(str(path))
        except Exception as exc:
            raise InvalidArgument(f"{path.name} is not a valid ONNX graph: {exc}") from None
    elif _importable("onnxruntime"):
        from modelport.runtimes._onnx import load_session

        load_session(path)


def _tensorflow(root: Path) -> None:
    # importing TensorFlow takes seconds: the service loads the SavedModel, this checks its shape
    _locate.find_folder(root, _locate.is_saved_model, "a TensorFlow SavedModel")


def _mlflow(root: Path) -> None:
    import yaml

    folder = _locate.find_folder(root, _locate.is_mlflow_model, "an MLflow model")
    try:
        spec = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidArgument(f"its MLmodel file cannot be read: {exc}") from None
    flavors = spec.get("flavors") if isinstance(spec, dict) else None
    if not isinstance(flavors, dict) or "python_function" not in flavors:
        raise InvalidArgument(
            "its MLmodel file has no python_function flavor, which mlflow.pyfunc needs to load it."
        )


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


_CHECKS = {"sklearn": _sklearn, "onnx": _onnx, "tensorflow": _tensorflow, "mlflow": _mlflow}
