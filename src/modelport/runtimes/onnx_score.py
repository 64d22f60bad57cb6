"""Built-in entry script for ONNX models (no-code deployment).

Request: one key per graph input, e.g. `{"float_input": [[...], ...]}`; answer: one key per
graph output. The session is created at import, because the schema decorators need the
graph's input and output metadata; `init()` has nothing left to do.
"""

from __future__ import annotations

from typing import Any

from modelport.runtimes import _locate
from modelport.runtimes._onnx import OnnxModel, load_session
from modelport.runtimes._script import make_run
from modelport.runtimes.batching import BatchSettings

MODEL = OnnxModel(load_session(_locate.find_file(_locate.model_root(), _locate.ONNX_SUFFIXES)))
run: Any = make_run(MODEL, __name__, BatchSettings.from_env())


def init() -> None:
    """The session already exists (created at import, for the schema)."""
