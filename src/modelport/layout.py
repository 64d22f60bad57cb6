"""The deployed-model folder layout that v1 entry scripts expect.

Services see models under `<app root>/azureml-models/<name>/<version>/<file or folder>`;
`AZUREML_MODEL_DIR` points at `azureml-models/<name>/<version>` for one model and at
`azureml-models` for several, so scripts written for either convention find their files.
This module has no dependencies so the scoring server can use it inside any environment.
"""

from __future__ import annotations

import os
from pathlib import Path

MODELS_FOLDER = "azureml-models"


def model_dir_for(app_root: Path, model_ids: list[tuple[str, int]]) -> Path:
    """The AZUREML_MODEL_DIR value for a deployment of these (name, version) pairs."""
    base = app_root / MODELS_FOLDER
    if len(model_ids) == 1:
        name, version = model_ids[0]
        return base / name / str(version)
    return base


def find_model_path(name: str, version: int | None = None) -> Path | None:
    """Where `Model.get_model_path(name, version)` points inside a service, or None."""
    candidates: list[Path] = []
    app_root = os.environ.get("AML_APP_ROOT")
    if app_root:
        candidates.append(Path(app_root) / MODELS_FOLDER / name)
    model_dir = os.environ.get("AZUREML_MODEL_DIR")
    if model_dir:
        md = Path(model_dir)
        candidates.append(md / name)  # multi-model layout: NAME/VERSION/...
        if md.parent.name == name:  # single-model layout: .../NAME/VERSION
            candidates.append(md.parent)
    candidates.append(Path.cwd() / MODELS_FOLDER / name)
    for folder in candidates:
        found = _pick_version(folder, version)
        if found is not None:
            return _single_entry(found)
    return None


def _pick_version(folder: Path, version: int | None) -> Path | None:
    if not folder.is_dir():
        return None
    if version is not None:
        chosen = folder / str(version)
        return chosen if chosen.is_dir() else None
    versions = [p for p in folder.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(versions, key=lambda p: int(p.name)) if versions else None


def _single_entry(version_dir: Path) -> Path:
    entries = [p for p in version_dir.iterdir() if not p.name.startswith(".")]
    return entries[0] if len(entries) == 1 else version_dir
