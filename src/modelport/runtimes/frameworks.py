"""The built-in runtimes, one per model framework, and how a model's framework picks one.

Each entry names the entry script shipped in this package, the optional extra that installs
its packages, and what to pin from `model_framework_version` when an environment is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.errors import InvalidArgument
from modelport.runtimes import _locate

if TYPE_CHECKING:
    from modelport.registry.models import Model

MLFLOW = "MLflow"  # no v1 Framework constant: recognised by the MLmodel file


@dataclass(frozen=True)
class Runtime:
    name: str
    framework: str
    script: str
    extra: str
    modules: tuple[str, ...]  # importable here → this interpreter can serve it as it is
    packages: tuple[str, ...]  # what a built environment installs
    pinned: str | None = None  # the package model_framework_version is a version of
    # the oldest release of `pinned` with wheels for each Python (older ones cannot install)
    oldest: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def script_path(self) -> Path:
        return Path(__file__).with_name(self.script)


SKLEARN = Runtime(
    name="sklearn",
    framework="ScikitLearn",
    script="sklearn_score.py",
    extra="sklearn",
    modules=("sklearn", "joblib"),
    packages=("scikit-learn", "joblib"),
    pinned="scikit-learn",
    oldest={(3, 11): "1.1.3", (3, 12): "1.3.1", (3, 13): "1.5.2", (3, 14): "1.7.2"},
)
ONNX = Runtime(
    name="onnx",
    framework="Onnx",
    script="onnx_score.py",
    extra="onnx",
    modules=("onnxruntime",),
    packages=("onnxruntime",),  # model_framework_version is the ONNX (opset) version: no pin
)
TENSORFLOW = Runtime(
    name="tensorflow",
    framework="TensorFlow",
    script="tensorflow_score.py",
    extra="tensorflow",
    modules=("tensorflow",),
    packages=("tensorflow-cpu",),
    pinned="tensorflow-cpu",
    oldest={(3, 11): "2.12.0", (3, 12): "2.16.1", (3, 13): "2.20.0"},
)
MLFLOW_RUNTIME = Runtime(
    name="mlflow",
    framework=MLFLOW,
    script="mlflow_score.py",
    extra="mlflow",
    modules=("mlflow",),
    packages=("mlflow-skinny",),
)
RUNTIMES = {r.framework: r for r in (SKLEARN, ONNX, TENSORFLOW, MLFLOW_RUNTIME)}


def runtime_for(model: Model, root: Path) -> Runtime:
    """The runtime for a registered model (`root`: its materialised file or folder)."""
    framework = model.model_framework
    if framework in RUNTIMES:
        return RUNTIMES[framework]
    if framework in (None, "Custom") and _has_mlmodel(root):
        return MLFLOW_RUNTIME
    supported = ", ".join(f for f in RUNTIMES if f != MLFLOW)
    problem = (
        "has no model_framework"
        if framework is None
        else f"has model_framework {framework!r}, which has no built-in runtime"
    )
    raise InvalidArgument(
        f"Model.deploy needs an inference_config: model '{model.id}' {problem}, so it cannot "
        f"be deployed without code (built-in runtimes: {supported}, and MLflow model folders).",
        hint="Register it with model_framework=Model.Framework.SCIKITLEARN (or ONNX, "
        "TENSORFLOW), or pass InferenceConfig(entry_script='score.py', environment=env).",
    )


def _has_mlmodel(root: Path) -> bool:
    try:
        _locate.find_folder(root, _locate.is_mlflow_model, "an MLflow model")
    except InvalidArgument:
        return False
    return True
