"""Built-in entry script for MLflow models (no-code deployment), through `mlflow.pyfunc`.

Request: `{"data": ...}` as records or a column dict when the model has a column signature,
an array for a tensor signature. The model is loaded at import, for the schema decorators.
"""

from __future__ import annotations

from typing import Any

from modelport.runtimes import _locate
from modelport.runtimes._mlflow import MlflowModel, load_pyfunc
from modelport.runtimes._script import make_run
from modelport.runtimes.batching import BatchSettings

_FOLDER = _locate.find_folder(_locate.model_root(), _locate.is_mlflow_model, "an MLflow model")
MODEL = MlflowModel(load_pyfunc(_FOLDER), _FOLDER)
run: Any = make_run(MODEL, __name__, BatchSettings.from_env())


def init() -> None:
    """The model is already loaded (at import, for the schema)."""
