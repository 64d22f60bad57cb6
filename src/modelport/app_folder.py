"""A service's app folder, laid out the same way on every target, as v1 lays it out.

v1 copies an inference config's source directory into the app root *under its own folder
name* (`./src` -> `/var/azureml-app/src/`), runs the entry script from there and keeps the
working directory at the app root, so scripts open `src/extra.json` relative to the working
directory, or files beside `__file__`. A lone entry script (no source directory) sits at the
app root. Models go under `azureml-models/<name>/<version>/` (see `layout.py`): hard-linked
from the artifact store for services on this machine, verified copies where links cannot go
(a Docker build context).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.errors import InvalidArgument
from modelport.layout import MODELS_FOLDER

if TYPE_CHECKING:
    from modelport.registry.models import Model

IGNORED = ("__pycache__", ".git", ".modelport", ".venv", "*.pyc")
# Names the app root already uses; a source directory of that name would collide with them.
RESERVED = (MODELS_FOLDER, "data-collection")


@dataclass(frozen=True)
class AppLayout:
    """Where the entry script and the source directory sit, relative to the app root: the
    values of AZUREML_ENTRY_SCRIPT and AZUREML_SOURCE_DIRECTORY inside the service."""

    entry_script: str
    source_directory: str | None


def app_layout(script: Path, source_directory: Path | None) -> AppLayout:
    """v1's layout for this script and source directory, checked (nothing is written)."""
    if source_directory is None:
        return AppLayout(script.name, None)
    source = source_directory.resolve()
    name = source.name
    if not name or name in RESERVED:
        raise InvalidArgument(
            f"source_directory {source_directory} cannot be copied into the app root: its "
            f"folder name {name!r} is {'empty' if not name else 'used by the app root itself'}.",
            hint="Move the scoring code into a folder with another name.",
        )
    try:
        relative = script.resolve().relative_to(source).as_posix()
    except ValueError:
        raise InvalidArgument(
            f"Entry script {script} is outside source_directory {source_directory}.",
            hint="Put the script inside the source directory, or give a path relative to it.",
        ) from None
    return AppLayout(f"{name}/{relative}", name)


def copy_app(
    script: Path, source_directory: Path | None, app: Path, skip: Iterable[Path] = ()
) -> AppLayout:
    """Create `app` (which must not exist) holding the lone script, or the source directory
    under its own name; folders in `skip` (a workspace inside the source directory) are left
    out."""
    layout = app_layout(script, source_directory)
    app.mkdir(parents=True)
    if source_directory is None:
        shutil.copy2(script, app / script.name)
        return layout
    assert layout.source_directory is not None
    copy_source(source_directory, app / layout.source_directory, skip)
    return layout


def copy_source(source: Path, dest: Path, skip: Iterable[Path] = ()) -> None:
    """Copy a project folder to `dest` without caches, VCS folders, virtualenvs, workspaces
    and the folders in `skip`."""
    patterns = shutil.ignore_patterns(*IGNORED)
    skipped = {p.resolve() for p in skip}

    def ignore(folder: str, names: list[str]) -> set[str]:
        dropped = set(patterns(folder, names))
        return dropped | {n for n in names if (Path(folder) / n).resolve() in skipped}

    shutil.copytree(source, dest, ignore=ignore, dirs_exist_ok=True)


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
