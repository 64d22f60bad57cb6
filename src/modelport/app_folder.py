"""A service's app folder, laid out the same way on every target.

The entry script (or its whole source directory) at the app root, and the models under
`azureml-models/<name>/<version>/` (see `layout.py`): hard-linked from the artifact store for
services on this machine, verified copies where links cannot go (a Docker build context).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.layout import MODELS_FOLDER

if TYPE_CHECKING:
    from modelport.registry.models import Model

IGNORED = ("__pycache__", ".git", ".modelport", ".venv", "*.pyc")


def copy_app(
    script: Path, source_directory: Path | None, app: Path, skip: Iterable[Path] = ()
) -> str:
    """Copy the source directory (or the lone script) to `app`, which must not exist; folders
    in `skip` (a workspace inside the source directory) are left out. Returns the entry
    script's path relative to the app root."""
    if source_directory is None:
        app.mkdir(parents=True)
        shutil.copy2(script, app / script.name)
        return script.name
    patterns = shutil.ignore_patterns(*IGNORED)
    skipped = {p.resolve() for p in skip}

    def ignore(folder: str, names: list[str]) -> set[str]:
        dropped = set(patterns(folder, names))
        return dropped | {n for n in names if (Path(folder) / n).resolve() in skipped}

    shutil.copytree(source_directory, app, ignore=ignore)
    return script.resolve().relative_to(source_directory.resolve()).as_posix()


def place_models(
    models: Sequence[Model], root: Path, log: Callable[[str], None], copy: bool = False
) -> None:
    """Lay `models` out under `root` (an `azureml-models` folder)."""
    for model in models:
        if copy:
            model.download(root / model.name / str(model.version))
            log(f"model {model.id}: copied into {MODELS_FOLDER}/{model.name}/{model.version}")
        else:
            model.materialize(root)
            log(f"model {model.id} linked into {MODELS_FOLDER}/{model.name}/{model.version}")
