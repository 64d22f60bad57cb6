"""Built-in entry script for TensorFlow SavedModels (no-code deployment).

Request: one key per input of the `serving_default` signature; answer: one key per output.
The SavedModel is loaded at import, because the schema decorators need its signature.
"""

from __future__ import annotations

from typing import Any

from modelport.runtimes import _locate
from modelport.runtimes._script import make_run
from modelport.runtimes._tensorflow import TensorflowModel, load_signature
from modelport.runtimes.batching import BatchSettings

_FOLDER = _locate.find_folder(_locate.model_root(), _locate.is_saved_model, "a SavedModel")
MODEL = TensorflowModel(*load_signature(_FOLDER))
run: Any = make_run(MODEL, __name__, BatchSettings.from_env())


def init() -> None:
    """The SavedModel is already loaded (at import, for the schema)."""
