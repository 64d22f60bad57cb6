"""`CondaDependencies`: the v1 SDK's editable view of a conda environment YAML.

Notebooks build these with `CondaDependencies.create(...)` and `add_pip_package(...)`; modelport
keeps the same names and keywords and the same YAML shape, so files written by either side load
in the other.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from modelport.errors import InvalidArgument, NotFound

from .conda import split_conda_spec

DEFAULT_NAME = "project_environment"
_NAME = re.compile(r"^\s*(?:[^\s:]+::)?([A-Za-z0-9_][A-Za-z0-9_.\-]*)")


def _package_name(spec: str) -> str:
    """Normalised project name of a pip or conda spec, for replace/remove by name."""
    match = _NAME.match(spec)
    name = match.group(1) if match else spec.strip()
    return re.sub(r"[-_.]+", "-", name).lower()


def _yaml() -> Any:
    import yaml  # lazily: only needed when reading or writing YAML

    return yaml


class CondaDependencies:
    """Conda packages, pip packages, pip options, channels and a python version.

    >>> deps = CondaDependencies.create(pip_packages=["six"], python_version="3.11")
    >>> deps.pip_packages
    ['six']
    """

    def __init__(self, conda_dependencies_file_path: str | Path | None = None) -> None:
        self.name: str = DEFAULT_NAME
        self.channels: list[str] = []
        self._python_version: str | None = None
        self._conda_packages: list[str] = []
        self._pip_packages: list[str] = []
        self._pip_options: list[str] = []
        if conda_dependencies_file_path is not None:
            path = Path(conda_dependencies_file_path)
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise NotFound(f"Conda specification file not found: {path}") from None
            self._load_yaml(text, source=str(path))

    @classmethod
    def create(
        cls,
        pip_packages: list[str] | None = None,
        conda_packages: list[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
    ) -> CondaDependencies:
        """Build a spec from package lists; python defaults to the running major.minor.

        `pin_sdk_version` is accepted for v1 compatibility: v1 added a pinned `azureml-defaults`,
        which modelport replaces with its own compatibility layer, so there is nothing to pin.
        """
        del pin_sdk_version
        deps = cls()
        deps._python_version = python_version or "{}.{}".format(*sys.version_info[:2])
        for spec in conda_packages or []:
            deps.add_conda_package(spec)
        for spec in pip_packages or []:
            deps.add_pip_package(spec)
        return deps

    @classmethod
    def from_string(cls, text: str, *, source: str = "<string>") -> CondaDependencies:
        """Parse conda environment YAML text (what `serialize_to_string` writes)."""
        deps = cls()
        deps._load_yaml(text, source=source)
        return deps

    # -- the v1 editing surface -------------------------------------------------------------

    @property
    def pip_packages(self) -> list[str]:
        """Pip requirement strings, in the order they were added."""
        return list(self._pip_packages)

    @property
    def conda_packages(self) -> list[str]:
        """Conda package specs other than python itself."""
        return list(self._conda_packages)

    @property
    def pip_options(self) -> list[str]:
        """Installer options such as `--extra-index-url URL`."""
        return list(self._pip_options)

    def add_pip_package(self, pip_package: str) -> None:
        """Add a pip requirement, replacing any earlier one for the same project."""
        self._pip_packages = self._without(self._pip_packages, pip_package)
        self._pip_packages.append(pip_package.strip())

    def remove_pip_package(self, pip_package: str) -> None:
        """Remove the pip requirement for this project name (its version is ignored)."""
        self._pip_packages = self._without(self._pip_packages, pip_package)

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda spec (`python=3.x` sets the python version instead)."""
        name, version = split_conda_spec(conda_package)
        if name.lower() == "python":
            self.set_python_version(version.lstrip("="))
            return
        self._conda_packages = self._without(self._conda_packages, conda_package)
        self._conda_packages.append(conda_package.strip())

    def remove_conda_package(self, conda_package: str) -> None:
        """Remove the conda spec for this package name."""
        self._conda_packages = self._without(self._conda_packages, conda_package)

    def add_channel(self, channel: str) -> None:
        """Add a conda channel (used only when conda itself builds the environment)."""
        if channel not in self.channels:
            self.channels.append(channel)

    def set_pip_option(self, pip_option: str) -> None:
        """Add an installer option such as `--extra-index-url URL`."""
        if pip_option not in self._pip_options:
            self._pip_options.append(pip_option.strip())

    def set_python_version(self, version: str) -> None:
        """Ask for a python version (`3.11` or `3.11.4`)."""
        self._python_version = version.strip() or None

    def get_python_version(self) -> str | None:
        """The requested python version, or None when any will do."""
        return self._python_version

    @staticmethod
    def _without(specs: list[str], spec: str) -> list[str]:
        name = _package_name(spec)
        return [s for s in specs if _package_name(s) != name]

    # -- YAML and JSON ---------------------------------------------------------------------

    def serialize_to_string(self) -> str:
        """The conda environment YAML for this spec."""
        dependencies: list[Any] = []
        if self._python_version:
            dependencies.append(f"python={self._python_version}")
        dependencies.extend(self._conda_packages)
        if self._pip_packages or self._pip_options:
            dependencies.append("pip")
            dependencies.append({"pip": self._pip_options + self._pip_packages})
        document: dict[str, Any] = {"name": self.name, "dependencies": dependencies}
        if self.channels:
            document["channels"] = list(self.channels)
        return str(_yaml().safe_dump(document, sort_keys=False, default_flow_style=False))

    def save(self, path: str | Path) -> None:
        """Write the conda YAML to a file (v1: `save_to_file`/`save`)."""
        Path(path).write_text(self.serialize_to_string(), encoding="utf-8")

    save_to_file = save

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, stable for equal specs."""
        return {
            "name": self.name,
            "python_version": self._python_version,
            "channels": list(self.channels),
            "conda_packages": list(self._conda_packages),
            "pip_packages": list(self._pip_packages),
            "pip_options": list(self._pip_options),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CondaDependencies:
        """Inverse of `to_dict`."""
        deps = cls()
        deps.name = data.get("name") or DEFAULT_NAME
        deps._python_version = data.get("python_version")
        deps.channels = list(data.get("channels", []))
        deps._conda_packages = list(data.get("conda_packages", []))
        deps._pip_packages = list(data.get("pip_packages", []))
        deps._pip_options = list(data.get("pip_options", []))
        return deps

    def _load_yaml(self, text: str, *, source: str) -> None:
        yaml = _yaml()
        try:
            document = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"{source}: not valid YAML: {exc}") from None
        if not isinstance(document, dict):
            raise InvalidArgument(f"{source}: a conda specification must be a YAML mapping")
        self.name = str(document.get("name") or DEFAULT_NAME)
        self.channels = [str(c) for c in document.get("channels") or []]
        for entry in document.get("dependencies") or []:
            if isinstance(entry, dict) and "pip" in entry:
                for item in entry["pip"] or []:
                    item = str(item).strip()
                    if item.startswith("-"):
                        self.set_pip_option(item)
                    else:
                        self.add_pip_package(item)
            elif isinstance(entry, str | int | float):
                if split_conda_spec(str(entry))[0].lower() == "pip":
                    continue  # implied by a pip section; written back when one exists
                self.add_conda_package(str(entry))
            else:
                raise InvalidArgument(f"{source}: unexpected dependency entry {entry!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CondaDependencies) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"CondaDependencies(python={self._python_version!r}, "
            f"conda={self._conda_packages!r}, pip={self._pip_packages!r})"
        )
