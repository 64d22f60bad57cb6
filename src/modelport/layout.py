"""The deployed-model folder layout that v1 entry scripts expect.

Services see models under `<app root>/azureml-models/<name>/<version>/<file or folder>`;
`AZUREML_MODEL_DIR` points at `azureml-models/<name>/<version>` for one model and at
`azureml-models` for several, so scripts written for either convention find their files.
This module has no dependencies so the scoring server can use it inside any environment.
"""

from __future__ import annotations

from pathlib import Path

MODELS_FOLDER = "azureml-models"


def model_dir_for(app_root: Path, model_ids: list[tuple[str, int]]) -> Path:
    """The AZUREML_MODEL_DIR value for a deployment of these (name, version) pairs."""
    base = app_root / MODELS_FOLDER
    if len(model_ids) == 1:
        name, version = model_ids[0]
        return base / name / str(version)
    return base
