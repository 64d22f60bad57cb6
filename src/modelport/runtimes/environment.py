"""The environment a no-code service runs in: this interpreter when it already has the
runtime's packages (fast local iteration), otherwise a built one with them, pinned to the
model's framework version when that version can be installed on this Python."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import sys

from modelport.environments import CondaDependencies, Environment
from modelport.runtimes.frameworks import Runtime

log = logging.getLogger("modelport.runtimes")


def runtime_environment(runtime: Runtime, framework_version: str | None) -> Environment:
    if all(importlib.util.find_spec(m) is not None for m in runtime.modules):
        _note_version_drift(runtime, framework_version)
        return Environment.current(f"modelport-{runtime.name}-current")
    packages = list(runtime.packages)
    pin = pinned_requirement(runtime, framework_version, sys.version_info[:2])
    if pin is not None:
        packages = [pin if p == runtime.pinned else p for p in packages]
    env = Environment(f"modelport-{runtime.name}")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=packages)
    log.info("no-code %s runtime: building an environment with %s", runtime.name, packages)
    return env


def pinned_requirement(
    runtime: Runtime, framework_version: str | None, python: tuple[int, int]
) -> str | None:
    """`package==version` when that release exists for `python`; else None (and a note)."""
    if runtime.pinned is None or not framework_version:
        return None
    wanted = _release(framework_version)
    oldest = _oldest_for(runtime, python)
    if wanted is None or (oldest is not None and wanted < oldest):
        log.warning(
            "the model was made with %s %s, which cannot be installed on Python %d.%d; "
            "the environment gets the newest %s instead (the model may not load with it)",
            runtime.pinned,
            framework_version,
            *python,
            runtime.pinned,
        )
        return None
    return f"{runtime.pinned}=={framework_version}"


def _oldest_for(runtime: Runtime, python: tuple[int, int]) -> tuple[int, ...] | None:
    known = [p for p in runtime.oldest if p <= python]  # a newer Python inherits the last entry
    return _release(runtime.oldest[max(known)]) if known else None


def _release(version: str) -> tuple[int, ...] | None:
    parts: list[int] = []
    for piece in version.strip().split("."):
        digits = "".join(c for c in piece if c.isdigit())
        if not digits or digits != piece:
            return None if not parts else tuple(parts)
        parts.append(int(digits))
    return tuple(parts) if parts else None


def _note_version_drift(runtime: Runtime, framework_version: str | None) -> None:
    if runtime.pinned is None or not framework_version:
        return
    try:
        installed = importlib.metadata.version(runtime.pinned)
    except importlib.metadata.PackageNotFoundError:
        return
    if _release(installed) != _release(framework_version):
        log.info(
            "the model was made with %s %s; serving it with the installed %s",
            runtime.pinned,
            framework_version,
            installed,
        )
