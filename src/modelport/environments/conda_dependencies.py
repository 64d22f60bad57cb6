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
CPU, GPU = "cpu", "gpu"
PYPI_SIMPLE = "https://pypi.org/simple"
_NAME = re.compile(r"^\s*(?:[^\s:]+::)?([A-Za-z0-9_][A-Za-z0-9_.\-]*)")


def _package_name(spec: str) -> str:
    """Normalised project name of a pip or conda spec, for replace/remove by name."""
    match = _NAME.match(spec)
    name = match.group(1) if match else spec.strip()
    return re.sub(r"[-_.]+", "-", name).lower()


def _core_type(core_type: str) -> str:
    lowered = str(core_type).lower()
    if lowered not in (CPU, GPU):
        raise InvalidArgument(f"core_type must be 'cpu' or 'gpu', got {core_type!r}.")
    return lowered


def _is_tensorflow(spec: str) -> bool:
    return _package_name(spec) in ("tensorflow", "tensorflow-gpu", "tensorflow-cpu")


def _yaml() -> Any:
    import yaml  # lazily: only needed when reading or writing YAML

    return yaml


class CondaDependencies:
    """Conda packages, pip packages, pip options, channels and a python version.

    >>> deps = CondaDependencies.create(pip_packages=["six"], python_version="3.11")
    >>> deps.pip_packages
    ['six']
    """

    # v1 counts the packages of its base project file; modelport starts from none.
    DEFAULT_NUMBER_OF_CONDA_PACKAGES = 0
    DEFAULT_NUMBER_OF_PIP_PACKAGES = 0

    def __init__(
        self,
        conda_dependencies_file_path: str | Path | None = None,
        _underlying_structure: dict[str, Any] | None = None,
    ) -> None:
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
        elif _underlying_structure is not None:  # v1's in-memory form: a parsed conda YAML
            self._load_yaml(_yaml().safe_dump(dict(_underlying_structure)), source="<dict>")

    @classmethod
    def create(
        cls,
        pip_packages: list[str] | None = None,
        conda_packages: list[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
        pip_indexurl: str | None = None,
    ) -> CondaDependencies:
        """Build a spec from package lists; python defaults to the running major.minor.

        `pin_sdk_version` is accepted for v1 compatibility: v1 added a pinned `azureml-defaults`,
        which modelport replaces with its own compatibility layer, so there is nothing to pin.
        `pip_indexurl` becomes an `--index-url` option, as in v1.
        """
        del pin_sdk_version
        deps = cls()
        if pip_indexurl:
            deps.set_pip_index_url(f"--index-url {pip_indexurl}")
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

    def remove_channel(self, channel: str) -> None:
        """Remove a conda channel; a channel that is not there is not an error."""
        if channel in self.channels:
            self.channels.remove(channel)

    @property
    def conda_channels(self) -> list[str]:
        """The channels, as a copy (v1's name for them)."""
        return list(self.channels)

    def set_pip_requirements(self, pip_requirements: list[str]) -> None:
        """Replace the whole pip section: options (`-…`) and packages, in the order given."""
        self._pip_options, self._pip_packages = [], []
        for item in pip_requirements:
            item = str(item).strip()
            if item.startswith("-"):
                self.set_pip_option(item)
            elif item:
                self.add_pip_package(item)

    def set_pip_index_url(self, index_url: str) -> None:
        """Add an index option; v1 passes the whole option (`--index-url URL`)."""
        self.set_pip_option(index_url)

    def remove_pip_option(self, pip_option: str) -> None:
        """Remove the installer option with this flag (`--extra-index-url`, its URL or not)."""
        if not pip_option.strip().startswith("-"):
            raise InvalidArgument(
                f"Invalid pip option {pip_option!r}.", hint="Pip options start with '-'."
            )
        flag = pip_option.split()[0]
        self._pip_options = [o for o in self._pip_options if o.split()[0] != flag]

    def add_tensorflow_pip_package(self, core_type: str = CPU, version: str | None = None) -> None:
        """Add TensorFlow from PyPI, replacing any earlier tensorflow package.

        Without a version it is left unpinned (v1 pinned its 2020 default, 2.2.0, which does
        not install on today's Python). GPU builds are `tensorflow[and-cuda]`, TensorFlow's
        own name for them since `tensorflow-gpu` was withdrawn.
        """
        gpu = _core_type(core_type) == GPU
        self._pip_packages = [p for p in self._pip_packages if not _is_tensorflow(p)]
        name = "tensorflow[and-cuda]" if gpu else "tensorflow"
        self.add_pip_package(f"{name}=={version}" if version else name)

    def add_tensorflow_conda_package(
        self, core_type: str = CPU, version: str | None = None
    ) -> None:
        """Add TensorFlow as a conda package (`tensorflow-gpu` for GPUs, as v1 names it)."""
        gpu = _core_type(core_type) == GPU
        self._conda_packages = [p for p in self._conda_packages if not _is_tensorflow(p)]
        name = "tensorflow-gpu" if gpu else "tensorflow"
        self.add_conda_package(f"{name}={version}" if version else name)

    def add_cntk_package(self, core_type: str = CPU) -> None:
        """Add the Microsoft Cognitive Toolkit as v1 did (`cntk`/`cntk-gpu` 2.7 from PyPI).

        CNTK's last release supports Python 3.6 at most, so building an environment with it
        fails, naming the package; the call itself is kept so notebooks load.
        """
        gpu = _core_type(core_type) == GPU
        kept = [p for p in self._pip_packages if not _package_name(p).startswith("cntk")]
        self._pip_packages = kept
        self.add_pip_package(("cntk-gpu" if gpu else "cntk") + "==2.7")

    def as_dict(self) -> dict[str, Any]:
        """The conda environment document as plain data (what `serialize_to_string` writes)."""
        return dict(_yaml().safe_load(self.serialize_to_string()))

    def get_default_number_of_packages(self) -> tuple[int, int]:
        """(conda, pip) packages modelport adds by itself: none."""
        return self.DEFAULT_NUMBER_OF_CONDA_PACKAGES, self.DEFAULT_NUMBER_OF_PIP_PACKAGES

    @staticmethod
    def merge_requirements(requirements: list[str]) -> list[str]:
        """Join requirements of the same project into one (`a>=1`, `a<2` -> `a>=1,<2`)."""
        merged: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for requirement in requirements:
            match = _NAME.match(requirement)
            raw = match.group(1) if match else requirement.strip()
            key = _package_name(requirement)
            names.setdefault(key, raw)
            rest = requirement.strip()[len(raw) :].strip() if match else ""
            merged.setdefault(key, [])
            if rest:
                merged[key].append(rest)
        return [names[k] + ",".join(v) for k, v in merged.items()]

    @staticmethod
    def sdk_origin_url() -> str:
        """The package index environments install from: uv's or pip's configured index, else
        PyPI (v1 named the index its SDK packages came from)."""
        import os

        return os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or PYPI_SIMPLE

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

    def save(self, path: str | Path | None = None) -> str:
        """Write the conda YAML to a file (default: `conda_dependencies.yml` here); returns
        the path written, as v1 does."""
        target = Path(path) if path is not None else Path("conda_dependencies.yml")
        target.write_text(self.serialize_to_string(), encoding="utf-8")
        return str(target)

    def save_to_file(self, base_directory: str | Path, conda_file_path: str | None = None) -> str:
        """v1's older form: write into `base_directory` (as `conda_file_path`, default
        `.azureml/conda_dependencies.yml`); returns the path relative to it."""
        relative = conda_file_path or ".azureml/conda_dependencies.yml"
        target = Path(base_directory) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        self.save(target)
        return relative

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
