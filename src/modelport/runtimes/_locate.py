"""Finding the model file or folder a runtime serves, inside a deployed (or cached) model root.

Shared by deploy-time validation and the runtime scripts, so both agree on what "the model"
is: the registered file itself, or the one matching file or folder inside the registered folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from modelport.errors import InvalidArgument

SKLEARN_SUFFIXES = (".pkl", ".pickle", ".joblib", ".sav")
ONNX_SUFFIXES = (".onnx",)


def model_root(model_dir: str | None = None) -> Path:
    """The registered file or folder under AZUREML_MODEL_DIR (`<name>/<version>/<root>`)."""
    folder = model_dir if model_dir is not None else os.environ.get("AZUREML_MODEL_DIR")
    if not folder:
        raise InvalidArgument(
            "AZUREML_MODEL_DIR is not set: the service was started without a model."
        )
    base = Path(folder)
    entries = _visible(base)
    if len(entries) != 1:
        raise InvalidArgument(
            f"{base} holds {len(entries)} entries; a no-code runtime serves exactly one model.",
            hint="Deploy one model, or write an entry script for several.",
        )
    return entries[0]


def find_file(root: Path, suffixes: tuple[str, ...]) -> Path:
    """`root` itself when it is a file, else the single file below it with one of `suffixes`."""
    if root.is_file():
        return root
    found = [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix.lower() in suffixes]
    if len(found) != 1:
        raise InvalidArgument(
            f"{root.name} holds {len(found)} files ending in {', '.join(suffixes)}; "
            "expected exactly one.",
            hint="Register the model file itself, or a folder with one model file.",
        )
    return found[0]


def find_folder(root: Path, is_model: Callable[[Path], bool], what: str) -> Path:
    """`root` when `is_model(root)`, else the single sub-folder (any depth) that is one."""
    if root.is_dir() and is_model(root):
        return root
    found = (
        [p for p in sorted(root.rglob("*")) if p.is_dir() and is_model(p)] if root.is_dir() else []
    )
    if len(found) != 1:
        raise InvalidArgument(
            f"{root.name} is not {what} and holds {len(found)} folders that are.",
            hint=f"Register the {what} folder itself.",
        )
    return found[0]


def is_saved_model(folder: Path) -> bool:
    return (folder / "saved_model.pb").is_file() or (folder / "saved_model.pbtxt").is_file()


def is_mlflow_model(folder: Path) -> bool:
    return (folder / "MLmodel").is_file()


def _visible(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except FileNotFoundError:
        raise InvalidArgument(f"Model folder {folder} does not exist.") from None
