"""Write signatures.json: the public surface of azureml-core 1.x, the checklist modelport's
v1 classes are compared against (tests/migrate/test_v1_signatures.py).

Run it with the reference SDK's own interpreter, in a throwaway venv outside the repository:

    uv venv /var/tmp/v1ref -p 3.11 && uv pip install --python /var/tmp/v1ref/bin/python azureml-core
    /var/tmp/v1ref/bin/python tests/migrate/v1_reference/extract.py

It imports the classes (nothing reaches Azure) and records, for every public member, its kind
and, for callables, each parameter's name, kind and default (repr of literals, else the type
name). Instance attributes come from building a default instance where that is free of
side effects (Environment("x"), CondaDependencies(), an InferenceConfig of an empty script).
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("signatures.json")

# v1 module -> class names to record.
CLASSES = {
    "azureml.core.environment": ["Environment", "PythonSection", "DockerSection"],
    "azureml.core.conda_dependencies": ["CondaDependencies"],
    "azureml.core.model": ["Model", "InferenceConfig"],
    "azureml.core.webservice": ["Webservice", "LocalWebservice", "AciWebservice", "AksWebservice"],
}
CONSTANTS = {"azureml.core.environment": ["DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE"]}


def _default(value: Any) -> Any:
    if value is inspect.Parameter.empty:
        return {"none": True}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    return {"type": type(value).__name__}


def _signature(func: Any) -> list[dict[str, Any]] | None:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    params = []
    for p in sig.parameters.values():
        if p.name in ("self", "cls"):
            continue
        params.append({"name": p.name, "kind": p.kind.name, "default": _default(p.default)})
    return params


def _member(cls: type, name: str) -> dict[str, Any]:
    raw = inspect.getattr_static(cls, name)
    owner = next((k.__name__ for k in cls.__mro__ if name in vars(k)), None)
    if isinstance(raw, property):
        return {"kind": "property", "owner": owner}
    if isinstance(raw, staticmethod):
        return {"kind": "staticmethod", "owner": owner, "params": _signature(raw.__func__)}
    if isinstance(raw, classmethod):
        return {"kind": "classmethod", "owner": owner, "params": _signature(raw.__func__)}
    if inspect.isfunction(raw):
        return {"kind": "method", "owner": owner, "params": _signature(raw)}
    if inspect.isclass(raw):
        return {"kind": "class", "owner": owner}
    return {"kind": "attribute", "owner": owner}


def _instance(module: str, name: str, cls: type) -> Any:
    """A default instance, or None when building one would need a workspace."""
    if name == "Environment":
        return cls("x")
    if name == "PythonSection":
        return cls()
    if name == "DockerSection":
        return cls()
    if name == "CondaDependencies":
        return cls()
    if name == "InferenceConfig":
        folder = tempfile.mkdtemp()
        Path(folder, "score.py").write_text("def init(): pass\ndef run(d): return d\n")
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            return cls("score.py")
        finally:
            os.chdir(cwd)
    return None


def main() -> None:
    import azureml.core

    result: dict[str, Any] = {
        "package": "azureml-core",
        "version": azureml.core.VERSION,
        "python": sys.version.split()[0],
        "classes": {},
        "constants": {},
    }
    for module_name, names in CLASSES.items():
        module = __import__(module_name, fromlist=names)
        for name in names:
            cls = getattr(module, name)
            members = {
                m: _member(cls, m)
                for m in sorted(dir(cls))
                if not m.startswith("_") and m not in dir(object)
            }
            instance = _instance(module_name, name, cls)
            if instance is not None:
                for attr in sorted(vars(instance)):
                    if not attr.startswith("_") and attr not in members:
                        members[attr] = {"kind": "instance", "owner": name}
            result["classes"][name] = {
                "module": module_name,
                "init": _signature(cls.__init__),
                "members": members,
            }
    for module_name, names in CONSTANTS.items():
        module = __import__(module_name, fromlist=names)
        for name in names:
            result["constants"][f"{module_name}.{name}"] = getattr(module, name)
    OUT.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({sum(len(c['members']) for c in result['classes'].values())} members)")


if __name__ == "__main__":
    main()
