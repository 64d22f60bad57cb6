"""`Environment`: what a service needs installed, in the v1 SDK's shape.

An environment is a plain, JSON-safe description (`to_dict`/`from_dict`); building it into a
virtualenv is `modelport.environments.build`'s job, and storing versions is the workspace
metadata store's.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Self

from modelport._ignored import IgnoredSetting, Unsupported, ignored
from modelport.errors import AlreadyExists, InvalidArgument, NotFound

from .conda_dependencies import CondaDependencies
from .curated import curated_dependencies, is_curated
from .requirements import read_requirements
from .sections import (
    NO_PLATFORM,
    NO_R,
    NO_REGISTRY,
    ContainerRegistry,
    DatabricksSection,
    DockerImagePlatform,
    SparkSection,
)

DEFAULT_NAME = "modelport-default"
# The default serving stack; services add modelport-runtime from the running installation.
DEFAULT_PIP_PACKAGES = ("numpy", "pandas", "scikit-learn", "inference-schema")
FORMAT = 1
AUTO = "auto"  # exclude_newer: resolve as of the environment's newest pinned release


class _EnvironmentStore(Protocol):
    def add_environment(self, name: str, spec: dict[str, Any]) -> int: ...

    def get_environment(self, name: str, version: int | None) -> tuple[int, dict[str, Any]]: ...

    def list_environments(self) -> list[tuple[str, int, dict[str, Any]]]: ...


class _Workspace(Protocol):
    @property
    def store(self) -> _EnvironmentStore: ...

    @property
    def path(self) -> Path: ...


@dataclass
class PythonSection:
    """Python settings: the packages to install, or an interpreter to reuse as it is."""

    conda_dependencies: CondaDependencies | None = field(default_factory=CondaDependencies)
    user_managed_dependencies: bool = False
    interpreter_path: str | None = None
    # modelport's: pins that cannot install on this Python get the nearest release that can
    # (the build log lists each change); off, such a pin fails the build naming this switch.
    resolve_nearest: bool = False
    # modelport's: resolve unpinned dependencies as of AUTO (the newest pinned release's
    # date + 30 days), an ISO date, or None (today's releases).
    exclude_newer: str | None = AUTO

    @property
    def conda_dependencies_file(self) -> str | None:
        """v1's path of a conda YAML; setting it loads the file into `conda_dependencies`."""
        return self.__dict__.get("_conda_file")

    @conda_dependencies_file.setter
    def conda_dependencies_file(self, path: str | None) -> None:
        self.__dict__["_conda_file"] = path
        if path is not None:
            self.conda_dependencies = CondaDependencies(path)

    def to_dict(self) -> dict[str, Any]:
        deps = self.conda_dependencies
        data: dict[str, Any] = {
            "conda_dependencies": deps.to_dict() if deps is not None else None,
            "user_managed_dependencies": self.user_managed_dependencies,
            "interpreter_path": self.interpreter_path,
        }
        # only when set, so environments registered before these existed keep their versions
        if self.resolve_nearest:
            data["resolve_nearest"] = True
        if self.exclude_newer != AUTO:
            data["exclude_newer"] = self.exclude_newer
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PythonSection:
        deps = data.get("conda_dependencies")
        return cls(
            conda_dependencies=CondaDependencies.from_dict(deps) if deps is not None else None,
            user_managed_dependencies=bool(data.get("user_managed_dependencies", False)),
            interpreter_path=data.get("interpreter_path"),
            resolve_nearest=bool(data.get("resolve_nearest", False)),
            exclude_newer=_exclude_newer(data.get("exclude_newer", AUTO)),
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "exclude_newer":
            value = _exclude_newer(value)
        super().__setattr__(name, value)


_RUN_ONLY = "it configures v1's training-run containers; services here set their own"


@dataclass
class DockerSection:
    """Container settings, stored for the packaging step (local services ignore them).

    `base_image` and `base_dockerfile` (Dockerfile text that builds the base) shape packaged
    images; v1's run-container settings are accepted and ignored with a warning.
    """

    base_image: str | None = None
    enabled: bool = False
    base_dockerfile: str | None = None

    shm_size = IgnoredSetting("2g", _RUN_ONLY)
    shared_volumes = IgnoredSetting(True, _RUN_ONLY)
    arguments = IgnoredSetting([], _RUN_ONLY)
    gpu_support = IgnoredSetting(False, "v1 itself deprecated it: GPUs are detected")
    base_image_registry = IgnoredSetting(ContainerRegistry(), NO_REGISTRY)
    platform = IgnoredSetting(DockerImagePlatform(), NO_PLATFORM)

    @property
    def build_context(self) -> None:
        """v1's Docker build context; modelport builds from `base_dockerfile` text only."""
        return None

    @build_context.setter
    def build_context(self, value: Any) -> None:
        if value is not None:
            raise Unsupported(
                "DockerSection.build_context is not supported: packaged images are built "
                "from a generated context.",
                hint="Put the base image's Dockerfile lines in env.docker.base_dockerfile.",
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_image": self.base_image,
            "enabled": self.enabled,
            "base_dockerfile": self.base_dockerfile,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DockerSection:
        return cls(
            base_image=data.get("base_image"),
            enabled=bool(data.get("enabled", False)),
            base_dockerfile=data.get("base_dockerfile"),
        )


_CONDA_TOOLS = ("conda", "mamba", "micromamba")
# COPY/ADD of context files (not `COPY --from=stage`, which copies from another stage)
_LOCAL_FILES = re.compile(r"^\s*(ADD|COPY)\s+(?!--from=)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class DockerBuildContext:
    """v1's `azureml.core.environment.DockerBuildContext`: a folder holding a Dockerfile."""

    path: str
    dockerfile_path: str = "Dockerfile"
    dockerfile: str = ""  # its text, read when created

    @staticmethod
    def from_local_directory(
        workspace: Any, path: str | Path, dockerfile_path: str = "Dockerfile"
    ) -> DockerBuildContext:
        """Read `path/dockerfile_path` (the workspace is v1's upload target: unused here)."""
        dockerfile = Path(path) / dockerfile_path
        if not dockerfile.is_file():
            raise InvalidArgument(
                f"{dockerfile} does not exist.",
                hint="Pass the folder that holds the Dockerfile, and dockerfile_path= if it "
                "has another name.",
            )
        text = dockerfile.read_text(encoding="utf-8")
        return DockerBuildContext(str(path), dockerfile_path, text)


class Environment:
    """A named, versioned set of packages and settings for running a service.

    >>> env = Environment("myenv")
    >>> env.python.conda_dependencies = CondaDependencies.create(pip_packages=["six"])
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgument(f"Environment name must be a non-empty string, got {name!r}")
        self.name = name
        self.version: int | None = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.environment_variables: dict[str, str] = {}
        self.inferencing_stack_version: str | None = None
        self.spark = SparkSection()
        self.databricks = DatabricksSection()
        self.asset_id: str | None = None  # v1's registry asset id; environments here have none

    r = IgnoredSetting(None, NO_R)

    # -- constructors users know from v1 -----------------------------------------------------

    @classmethod
    def from_conda_specification(cls, name: str, file_path: str | Path) -> Self:
        """An environment from a conda environment YAML file."""
        env = cls(name)
        env.python.conda_dependencies = CondaDependencies(file_path)
        return env

    @classmethod
    def from_pip_requirements(
        cls, name: str, file_path: str | Path, pip_version: str | None = None
    ) -> Self:
        """An environment from a pip requirements file (with `-r` includes)."""
        if pip_version is not None:
            ignored("Environment.from_pip_requirements(pip_version=)", _NO_PIP)
        requirements = read_requirements(file_path)
        deps = CondaDependencies.create(pip_packages=requirements.packages)
        for option in requirements.options:
            deps.set_pip_option(option)
        env = cls(name)
        env.python.conda_dependencies = deps
        return env

    @classmethod
    def from_docker_image(
        cls,
        name: str,
        image: str,
        container_registry: Any = None,
        conda_specification: str | Path | None = None,
        pip_requirements: str | Path | None = None,
    ) -> Self:
        """An environment whose packaged image builds on `image`, with the packages of a
        conda file or a requirements file (else none beyond the serving stack)."""
        if container_registry is not None:
            ignored("Environment.from_docker_image(container_registry=)", NO_REGISTRY)
        env = cls._with_packages(name, conda_specification, pip_requirements)
        env.docker.base_image = image
        return env

    @classmethod
    def from_dockerfile(
        cls,
        name: str,
        dockerfile: str | Path,
        conda_specification: str | Path | None = None,
        pip_requirements: str | Path | None = None,
    ) -> Self:
        """An environment whose packaged image builds on a Dockerfile (its path, or its text)."""
        env = cls._with_packages(name, conda_specification, pip_requirements)
        text = str(dockerfile)
        if "\n" not in text and Path(text).is_file():
            text = Path(text).read_text(encoding="utf-8")
        env.docker.base_dockerfile = text
        return env

    @classmethod
    def _with_packages(
        cls, name: str, conda_file: str | Path | None, requirements: str | Path | None
    ) -> Self:
        if conda_file is not None and requirements is not None:
            raise InvalidArgument(
                "Give conda_specification or pip_requirements, not both.",
                hint="Put the pip packages into the conda file's pip section.",
            )
        if conda_file is not None:
            return cls.from_conda_specification(name, conda_file)
        if requirements is not None:
            return cls.from_pip_requirements(name, requirements)
        return cls(name)

    @staticmethod
    def from_existing_conda_environment(name: str, conda_environment_name: str) -> Environment:
        """The environment of a conda installation on this machine, read from `conda env
        export -n NAME --no-builds` (as v1 reads it); a clear error when conda is absent."""
        conda = next((found for tool in _CONDA_TOOLS if (found := shutil.which(tool))), None)
        export_hint = (
            "Export it where conda is (`conda env export -n NAME > env.yml`) and use "
            "Environment.from_conda_specification(name, 'env.yml')."
        )
        if conda is None:
            raise InvalidArgument(
                f"Cannot read conda environment {conda_environment_name!r}: no conda, mamba "
                "or micromamba on PATH.",
                hint=export_hint,
            )
        result = subprocess.run(
            [conda, "env", "export", "-n", conda_environment_name, "--no-builds"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            why = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise NotFound(
                f"conda could not export environment {conda_environment_name!r}: {why}",
                hint="`conda env list` shows the environments on this machine.",
            )
        with tempfile.TemporaryDirectory(prefix="modelport-conda-") as folder:
            spec = Path(folder) / "environment.yml"
            spec.write_text(result.stdout)
            return Environment.from_conda_specification(name, spec)

    @staticmethod
    def from_docker_build_context(name: str, docker_build_context: Any) -> Environment:
        """An environment built on a v1 `DockerBuildContext`'s Dockerfile. Its instructions
        become the image's base (as `from_dockerfile`); one that COPYs or ADDs files of its
        directory is refused, as modelport's generated context does not hold them."""
        if not isinstance(docker_build_context, DockerBuildContext):
            raise InvalidArgument(
                "docker_build_context must be a DockerBuildContext.",
                hint="Create it with DockerBuildContext.from_local_directory(ws, path).",
            )
        text = docker_build_context.dockerfile
        if _LOCAL_FILES.search(text):
            raise InvalidArgument(
                f"The Dockerfile of {docker_build_context.path} copies files of its build "
                "context (COPY/ADD), which modelport's generated image context does not hold.",
                hint="Install those files another way (a pip package, a RUN step), or build "
                "the image yourself and use Environment.from_docker_image(name, image).",
            )
        env = Environment(name)
        env.docker.base_dockerfile = text
        return env

    @staticmethod
    def add_private_pip_wheel(
        workspace: _Workspace, file_path: str | Path, exist_ok: bool = False
    ) -> str:
        """Keep a wheel in the workspace (`<workspace>/wheels/`) and return its path, to add
        as a pip package (`deps.add_pip_package(path)`), as v1 returns the wheel's URL."""
        source = Path(file_path)
        if not source.is_file() or source.suffix != ".whl":
            raise InvalidArgument(f"{source} is not a wheel file (*.whl).")
        target = workspace.path / "wheels" / source.name
        if target.exists() and not exist_ok:
            raise AlreadyExists(
                f"Wheel {source.name} is already in the workspace.",
                hint="Pass exist_ok=True to reuse it.",
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copy2(source, target)
        return str(target)

    @classmethod
    def default(cls) -> Self:
        """modelport's curated serving environment (numpy, pandas, scikit-learn, schemas)."""
        env = cls(DEFAULT_NAME)
        env.python.conda_dependencies = CondaDependencies.create(
            pip_packages=list(DEFAULT_PIP_PACKAGES)
        )
        return env

    @classmethod
    def current(cls, name: str = "modelport-current") -> Self:
        """Reuse the interpreter running modelport, without building anything (fast iteration)."""
        env = cls(name)
        env.python.user_managed_dependencies = True
        env.python.conda_dependencies = None
        return env

    # -- the workspace store ----------------------------------------------------------------

    def register(self, workspace: _Workspace) -> Environment:
        """Store this environment as a new version (or the latest, if nothing changed)."""
        self.version = workspace.store.add_environment(self.name, self._spec())
        return self

    @classmethod
    def get(
        cls,
        workspace: _Workspace,
        name: str,
        version: int | str | None = None,
        label: str | None = None,
    ) -> Self:
        """A registered environment (latest version when none is given), or a curated
        `AzureML-…` one that v1 notebooks clone."""
        if label is not None:
            ignored("Environment.get(label=)", _NO_LABELS + "; the latest version is returned")
        try:
            found, spec = workspace.store.get_environment(name, _version(version))
        except NotFound:
            if not is_curated(name):
                raise
            env = cls(name)
            env.python.conda_dependencies = curated_dependencies(name)
            return env
        return cls.from_dict({**spec, "name": name, "version": found})

    @staticmethod
    def label(workspace: _Workspace, name: str, version: int | str, labels: list[str]) -> None:
        """v1 labels environment versions; here versions are addressed by number only."""
        ignored("Environment.label()", _NO_LABELS)

    def save_to_directory(self, path: str | Path, overwrite: bool = False) -> None:
        """Write `azureml_environment.json` (+ `conda_dependencies.yml`, `BaseDockerfile`)
        into `path`, the files v1 writes; `load_from_directory` reads them back."""
        folder = Path(path)
        if folder.exists() and any(folder.iterdir()) and not overwrite:
            raise AlreadyExists(
                f"{folder} is not empty.", hint="Pass overwrite=True to replace its files."
            )
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _DEFINITION_FILE).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        deps = self.python.conda_dependencies
        if deps is not None:
            deps.save(folder / _CONDA_FILE)
        if self.docker.base_dockerfile:
            (folder / _DOCKERFILE).write_text(self.docker.base_dockerfile)

    @classmethod
    def load_from_directory(cls, path: str | Path) -> Self:
        """An environment from a folder written by `save_to_directory`, here or by v1
        (whose definition file uses v1's camelCase keys)."""
        folder = Path(path)
        definition = folder / _DEFINITION_FILE
        if not definition.is_file():
            raise NotFound(
                f"{definition} does not exist.",
                hint="Point at a folder written by Environment.save_to_directory.",
            )
        data = json.loads(definition.read_text(encoding="utf-8"))
        if "format" in data:
            env = cls.from_dict({**data, "version": None})
        else:  # v1's own definition file
            env = cls(str(data.get("name") or folder.name))
            python = data.get("python") or {}
            env.python.user_managed_dependencies = bool(python.get("userManagedDependencies"))
            env.python.interpreter_path = python.get("interpreterPath")
            docker = data.get("docker") or {}
            env.docker.base_image = docker.get("baseImage")
            env.environment_variables = dict(data.get("environmentVariables") or {})
            env.inferencing_stack_version = data.get("inferencingStackVersion")
        if (folder / _CONDA_FILE).is_file():
            env.python.conda_dependencies = CondaDependencies(folder / _CONDA_FILE)
        if (folder / _DOCKERFILE).is_file():
            env.docker.base_dockerfile = (folder / _DOCKERFILE).read_text(encoding="utf-8")
        return env

    def clone(self, new_name: str) -> Environment:
        """A copy under a new name, unregistered (v1's `env.clone("myenv")`)."""
        copy = type(self).from_dict({**self.to_dict(), "name": new_name, "version": None})
        return copy

    @classmethod
    def list(cls, workspace: _Workspace) -> dict[str, Environment]:
        """The latest version of every registered environment, by name (as v1 returns it)."""
        latest: dict[str, tuple[int, dict[str, Any]]] = {}
        for name, version, spec in workspace.store.list_environments():
            if name not in latest or version > latest[name][0]:
                latest[name] = (version, spec)
        return {
            name: cls.from_dict({**spec, "name": name, "version": version})
            for name, (version, spec) in sorted(latest.items())
        }

    # -- serialisation ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe and stable: equal environments give equal dicts."""
        return {"name": self.name, "version": self.version, **self._spec()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Inverse of `to_dict`."""
        if data.get("format", FORMAT) > FORMAT:
            raise InvalidArgument(
                f"Environment {data.get('name')!r} was saved by a newer modelport "
                f"(format {data['format']}); upgrade modelport to read it."
            )
        env = cls(data["name"])
        env.version = data.get("version")
        env.python = PythonSection.from_dict(data.get("python") or {})
        env.docker = DockerSection.from_dict(data.get("docker") or {})
        env.environment_variables = dict(data.get("environment_variables") or {})
        env.inferencing_stack_version = data.get("inferencing_stack_version")
        return env

    def _spec(self) -> dict[str, Any]:
        """Everything but the name and version: what the store versions."""
        return {
            "format": FORMAT,
            "python": self.python.to_dict(),
            "docker": self.docker.to_dict(),
            "environment_variables": {
                str(k): str(v) for k, v in sorted(self.environment_variables.items())
            },
            "inferencing_stack_version": self.inferencing_stack_version,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Environment) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Environment(name={self.name!r}, version={self.version!r})"


_NO_PIP = "environments are installed with uv, whose version is modelport's own"
_NO_LABELS = "modelport does not label environment versions"
_DEFINITION_FILE = "azureml_environment.json"
_CONDA_FILE = "conda_dependencies.yml"
_DOCKERFILE = "BaseDockerfile"


def _exclude_newer(value: Any) -> str | None:
    """AUTO, None, or a date: checked when set, so a typo fails where it was written."""
    if value is None or value == AUTO:
        return value
    import datetime as dt

    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    try:
        dt.date.fromisoformat(text[:10])
    except ValueError:
        raise InvalidArgument(
            f"env.python.exclude_newer must be 'auto', None or a date (YYYY-MM-DD), got {value!r}"
        ) from None
    return text[:10]


def _version(version: int | str | None) -> int | None:
    """v1 passes versions as strings ('1'); the store wants ints."""
    if version is None:
        return None
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise InvalidArgument(f"Environment version must be a number, got {version!r}") from None
    if number < 1:
        raise InvalidArgument(f"Environment version must be 1 or more, got {version!r}")
    return number
