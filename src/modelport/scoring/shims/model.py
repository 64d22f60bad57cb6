"""`azureml.core.model` inside a service: only `Model.get_model_path` is meaningful here."""

from __future__ import annotations

import os

from modelport.errors import NotFound


class ModelNotFoundException(NotFound):
    """No deployed model matches the name (and version)."""


class Model:
    """The v1 `Model` class as seen from an entry script."""

    @staticmethod
    def get_model_path(
        model_name: str, version: int | None = None, _workspace: object = None
    ) -> str:
        """Path of a deployed model: the single file/folder of that version, or the version folder.

        Looks in `$AML_APP_ROOT/azureml-models/<name>/<version>/` (what azureml-core does) and in
        the `AZUREML_MODEL_DIR` layouts (one model: the folder holding it; several:
        `<dir>/<name>/<version>/`). Latest version when none is given.
        """
        probed: list[str] = []
        app_root = os.environ.get("AML_APP_ROOT", os.getcwd())
        model_dir = os.environ.get("AZUREML_MODEL_DIR")
        for base in _bases(app_root, model_dir):
            probed.append(os.path.join(base, model_name))
            found = _in_versioned(os.path.join(base, model_name), version)
            if found:
                return found
        if model_dir and os.path.isdir(model_dir):
            parent = os.path.basename(os.path.dirname(os.path.normpath(model_dir)))
            version_ok = version is None or os.path.basename(model_dir) == str(version)
            if parent == model_name and version_ok:
                return _single_entry(model_dir)
            direct = os.path.join(model_dir, model_name)
            probed.append(direct)
            if version is None and os.path.exists(direct):
                return direct
        raise ModelNotFoundException(
            f"Model {model_name!r}{'' if version is None else f' version {version}'} not found "
            f"in the service; looked in {', '.join(probed) or 'no model folder'}."
        )


def _bases(app_root: str, model_dir: str | None) -> list[str]:
    bases = [os.path.join(app_root, "azureml-models")]
    if model_dir:
        bases.append(model_dir)
    return [b for b in dict.fromkeys(bases) if os.path.isdir(b)]


def _in_versioned(name_dir: str, version: int | None) -> str | None:
    if not os.path.isdir(name_dir):
        return None
    versions = [v for v in os.listdir(name_dir) if os.path.isdir(os.path.join(name_dir, v))]
    if not versions:
        return None
    if version is not None:
        chosen = str(version)
        if chosen not in versions:
            return None
    else:
        chosen = max(versions, key=lambda v: (v.isdigit(), int(v) if v.isdigit() else 0, v))
    return _single_entry(os.path.join(name_dir, chosen))


def _single_entry(folder: str) -> str:
    entries = [e for e in os.listdir(folder) if not e.startswith(".")]
    return os.path.join(folder, entries[0]) if len(entries) == 1 else folder
