"""Built-in entry script for scikit-learn models (no-code deployment).

Loaded by the scoring server like any v1 script. The model is loaded at import, because the
@input_schema/@output_schema decorators need its metadata; `init()` has nothing left to do.
Request: `{"data": [[...], ...], "method": "predict" | "predict_proba"}`.
"""

from __future__ import annotations

from typing import Any

from modelport.runtimes import _locate
from modelport.runtimes._script import make_run
from modelport.runtimes._sklearn import SklearnModel, load_estimator
from modelport.runtimes.batching import BatchSettings

MODEL = SklearnModel(
    load_estimator(_locate.find_file(_locate.model_root(), _locate.SKLEARN_SUFFIXES))
)
run: Any = make_run(MODEL, __name__, BatchSettings.from_env())


def init() -> None:
    """The model is already loaded (at import, for the schema)."""
