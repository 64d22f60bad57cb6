"""Reduce an `Environment` to what the venv builder installs, and hash it for the cache.

The resolved spec is the cache key, so it holds exactly what changes the built venv: the
normalised pip requirements (sorted: the resolver installs them together, so order cannot
change the result), installer options (in order: index priority depends on it), the python
version, the base interpreter, and which modelport gets installed.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from modelport.errors import InvalidArgument

from .conda import conda_to_pip, conda_version_to_pip
from .spec import Environment

HASH_FORMAT = 2  # 2: the runtime wheel's digest, resolve_nearest and exclude_newer
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


@dataclass(frozen=True)
class ResolvedSpec:
    """Pip requirements plus everything else that decides what a venv contains."""

    requirements: tuple[str, ...]
    pip_options: tuple[str, ...] = ()
    python_version: str | None = None  # major.minor the spec asked for, if any
    wants_modelport: bool = False  # the spec lists `modelport` itself
    notes: tuple[str, ...] = field(default=(), compare=False)  # for the build log
    # requirement -> the spec the user wrote, where they differ (for error messages)
    origins: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def origin(self, requirement: str) -> str | None:
        """The conda/pip spec a resolved requirement came from, if it was rewritten."""
        return dict(self.origins).get(requirement)

    def key(self, *, interpreter: str, modelport: str | None) -> dict[str, Any]:
        """The normalised, JSON-safe cache key for this spec built with that interpreter."""
        return {
            "format": HASH_FORMAT,
            "interpreter": interpreter,
            "modelport": modelport,
            "pip_options": list(self.pip_options),
            "requirements": sorted(set(self.requirements)),
        }


def spec_hash(key: dict[str, Any]) -> str:
    """First 16 hex digits of the sha256 of the key's canonical JSON."""
    canonical = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def normalise_requirement(requirement: str) -> str:
    """`Scikit_Learn [Alldeps] >= 1.0` -> `scikit-learn[alldeps]>=1.0` (PEP 503 names)."""
    text = requirement.strip()
    match = _REQUIREMENT.match(text)
    if match is None or "://" in text.split("@")[0]:
        return text  # a URL or path: leave it as the user wrote it
    name = re.sub(r"[-_.]+", "-", match[1]).lower()
    extras = ""
    if match[2]:
        parts = sorted(p.strip().lower() for p in match[2][1:-1].split(",") if p.strip())
        extras = "[" + ",".join(parts) + "]"
    rest = match[3].strip()
    if not rest.startswith("@") and ";" not in rest:
        rest = re.sub(r"\s+", "", rest)
    return name + extras + rest


def _major_minor(version: str | None) -> str | None:
    """The major.minor a conda `python` spec asks for; None when the running one matches
    (`python>=3.8,<3.12`, `python=3.11.*`), or when it names none."""
    if not version:
        return None
    spec = conda_version_to_pip(version)
    if spec:
        try:
            if Version(platform.python_version()) in SpecifierSet(spec):
                return None
        except (InvalidSpecifier, InvalidVersion):
            pass
    found = re.search(r"(\d+)\.(\d+)", version)
    return f"{found[1]}.{found[2]}" if found else None


def resolve(env: Environment) -> ResolvedSpec:
    """Turn an environment's conda and pip sections into pip requirements."""
    deps = env.python.conda_dependencies
    if env.python.user_managed_dependencies or deps is None:
        return ResolvedSpec(requirements=())
    notes: list[str] = []
    requirements: list[str] = []
    origins: list[tuple[str, str]] = []
    wants_modelport = False
    for spec in deps.conda_packages:
        try:
            requirement, note = conda_to_pip(spec)
        except ValueError as exc:
            raise InvalidArgument(f"Environment {env.name!r}: {exc}") from None
        if note:
            notes.append(note)
        if requirement:
            requirements.append(normalise_requirement(requirement))
            if requirements[-1] != spec:
                origins.append((requirements[-1], f"conda: {spec}"))
    for spec in deps.pip_packages:
        requirement = normalise_requirement(spec)
        name = re.split(r"[\[<>=!~;@ ]", requirement, maxsplit=1)[0]
        if name == "modelport":
            wants_modelport = True
        elif name.startswith("azureml-") or name == "azureml":
            notes.append(
                f"pip package '{spec}' skipped: provided by modelport's compatibility layer"
            )
        else:
            requirements.append(requirement)
    return ResolvedSpec(
        requirements=tuple(dict.fromkeys(requirements)),
        pip_options=tuple(deps.pip_options),
        python_version=_major_minor(deps.get_python_version()),
        wants_modelport=wants_modelport,
        notes=tuple(notes),
        origins=tuple(origins),
    )


def current_python() -> str:
    """The running interpreter's major.minor."""
    return "{}.{}".format(*sys.version_info[:2])
