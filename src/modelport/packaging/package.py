"""`ModelPackage`: v1's result of `Model.package(...)`, a Docker image or its build context.

Creation runs inside `Model.package` (a context takes seconds; v1 users call
`wait_for_creation()` straight after anyway), so `state` is final when it returns.
Mistakes in the request (unknown model, missing script, bad image name) raise at once and
write nothing; failures while creating (no Docker engine, a failed build) are recorded as state
`Failed` and raised by `wait_for_creation()`, as v1 does. The record lives in the metadata
store (kind "package"); files live in `<workspace>/packages/<id>/`.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.errors import (
    DockerUnavailable,
    EnvironmentBuildError,
    InvalidArgument,
    ModelportError,
    PackageError,
    PackageNotFound,
)
from modelport.packaging import containers, engine
from modelport.packaging.containers import ContainerRegistry
from modelport.packaging.context import plan_context, write_context
from modelport.registry.documents import StoredDocument
from modelport.registry.models import Model, resolve_models

if TYPE_CHECKING:
    from modelport.configs import InferenceConfig
    from modelport.workspace import Workspace

KIND = "package"
LABEL_PACKAGE = "org.modelport.package"
LABEL_WORKSPACE = "org.modelport.workspace"
RUNNING, SUCCEEDED, FAILED = "Running", "Succeeded", "Failed"
_ERRORS: dict[str, type[ModelportError]] = {
    "DockerUnavailable": DockerUnavailable,
    "EnvironmentBuildError": EnvironmentBuildError,
    "PackageError": PackageError,
}
# Docker's reference grammar, without a registry host (that comes from the registry setting)
_IMAGE_NAME = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_IMAGE_LABEL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class ModelPackage(StoredDocument):
    """A package by id: `ModelPackage(ws, id)`; returned by `Model.package(...)`."""

    KIND = KIND

    def __init__(self, workspace: Workspace, package_id: str) -> None:
        self.id = package_id
        self._failure: ModelportError | None = None
        super().__init__(workspace, package_id)

    @classmethod
    def _missing(cls, name: str) -> PackageNotFound:
        return PackageNotFound(f"Package '{name}' does not exist in this workspace.")

    # -- attributes ---------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return self.workspace.path / "packages" / self.id

    @property
    def context_path(self) -> Path:
        """The Docker build context (what `save()` copies out)."""
        return self.folder / "context"

    @property
    def state(self) -> str:
        return str(self._doc["state"])

    @property
    def error(self) -> str | None:
        return self._doc.get("error")

    @property
    def generate_dockerfile(self) -> bool:
        return bool(self._doc["generate_dockerfile"])

    @property
    def image_name(self) -> str:
        return str(self._doc["image_name"])

    @property
    def image_label(self) -> str:
        return str(self._doc["image_label"])

    @property
    def models(self) -> list[str]:
        return list(self._doc["models"])

    @property
    def location(self) -> str:
        """The image reference (`[registry/]name:label`), or the build context's folder."""
        if self.generate_dockerfile:
            return str(self.context_path)
        return self.get_container_registry().image_reference(self.image_name, self.image_label)

    # -- v1 methods -----------------------------------------------------------------------
    def wait_for_creation(self, show_output: bool = False) -> None:
        """Return once created (the build's output is in the log, streamed as it ran);
        raise the creation error (one line) if it failed."""
        if show_output:
            print(self.get_logs(), end="", flush=True)
            print(f"Package {self.id}: {self.state}", flush=True)
        if self.state == FAILED:
            if self._failure is not None:
                raise self._failure
            error_type = _ERRORS.get(self._doc.get("error_type", ""), PackageError)
            raise error_type(str(self.error))

    def save(self, output_directory: str | os.PathLike[str]) -> str:
        """Copy the build context into `output_directory` (absent or empty); return its path."""
        if not self.generate_dockerfile:
            raise InvalidArgument(
                f"Package {self.id} is an image; only generate_dockerfile=True packages can be saved.",
                hint="Use package.pull() to get the image.",
            )
        self.wait_for_creation()
        target = Path(output_directory).resolve()
        check_output_directory(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            shutil.copytree(self.context_path, staging, dirs_exist_ok=True)
            staging.chmod(0o755)
            if target.exists():
                target.rmdir()  # empty, checked above
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return str(target)

    @staticmethod
    def check_output_directory(target: Path) -> None:
        """Raise unless `target` can receive a build context (absent, or an empty folder)."""
        check_output_directory(target)

    def get_container_registry(self) -> ContainerRegistry:
        """The registry the image was pushed to, with its credentials (from the environment's
        MODELPORT_CONTAINER_REGISTRY[_USERNAME|_PASSWORD] or the workspace's registry setting,
        never from the record); all None when none was configured."""
        address = self._doc.get("registry")
        configured = ContainerRegistry.configured(self.workspace, os.environ)
        if address and configured.address == address:
            return configured
        return ContainerRegistry(address=address)

    def pull(self) -> None:
        """Make the image available in the local engine (pull it from the registry)."""
        if self.generate_dockerfile:
            raise InvalidArgument(
                f"Package {self.id} is a Dockerfile package: it has no image to pull.",
                hint=f"Save it and build it: docker build --tag IMAGE {self.context_path}",
            )
        client = containers.require_engine(self.workspace)
        try:
            self.wait_for_creation()
            reference = self.location
            if self._doc.get("registry"):
                containers.pull_image(client, reference, self.get_container_registry(), self._log)
            elif not containers.image_exists(client, reference):
                raise PackageError(f"Image {reference} is not in the local engine any more.")
        finally:
            client.close()
        print(f"Image {reference} is in the local container engine.", flush=True)

    def get_logs(self, decode: bool = True, offset: int = 0) -> str:
        try:
            return (self.folder / "package.log").read_text(errors="replace")[offset:]
        except FileNotFoundError:
            return ""

    def delete(self) -> None:
        """Forget the package and its files (an image already built stays in the engine)."""
        self._forget()
        shutil.rmtree(self.folder, ignore_errors=True)

    def serialize(self) -> dict[str, Any]:
        return {**self._doc, "location": self.location}

    def __repr__(self) -> str:
        return f"ModelPackage(id={self.id!r}, state={self.state!r}, location={self.location!r})"

    # -- internals ------------------------------------------------------------------------
    def _log(self, line: str) -> None:
        with open(self.folder / "package.log", "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def create_package(
    workspace: Workspace,
    models: Sequence[Model | str],
    inference_config: InferenceConfig | None = None,
    generate_dockerfile: bool = False,
    image_name: str | None = None,
    image_label: str | None = None,
) -> ModelPackage:
    """Model.package's engine: check the request, then create the context (and the image)."""
    now = datetime.now(UTC)
    name = _checked(
        image_name or "package", _IMAGE_NAME, "image_name", "lowercase letters, digits, . _ - and /"
    )
    label = _checked(
        image_label or now.strftime("%Y%m%d%H%M%S"),
        _IMAGE_LABEL,
        "image_label",
        "letters, digits, . _ -",
    )
    resolved = resolve_models(workspace, models, holder="package")
    plan = plan_context(resolved, inference_config)
    registry = ContainerRegistry.configured(workspace, os.environ)
    package_id = f"{now.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}"
    workspace.store.put_document(
        KIND,
        package_id,
        {
            "id": package_id,
            "models": [m.id for m in resolved],
            "image_name": name,
            "image_label": label,
            "generate_dockerfile": bool(generate_dockerfile),
            "registry": registry.address,
            "state": RUNNING,
            "error": None,
            "created_time": time.time(),
        },
    )
    package = ModelPackage(workspace, package_id)
    package.folder.mkdir(parents=True)
    try:
        client = None if generate_dockerfile else containers.require_engine(workspace)
        write_context(
            plan,
            package.context_path,
            workspace.path / "cache" / "wheels",
            package._log,
            exclude=[workspace.path],
        )
        if client is not None:
            _build_and_push(client, package, registry, plan.base_image)
    except (ModelportError, OSError) as exc:
        failure = (
            exc
            if isinstance(exc, (PackageError, EnvironmentBuildError))  # as a local build says
            else PackageError(f"Package {package_id} failed: {exc}")
        )
        package._log(f"package failed: {failure}")
        package._save(state=FAILED, error=str(failure), error_type=type(failure).__name__)
        package._failure = failure
        return package
    except BaseException as exc:
        package._save(state=FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    package._log(f"package {package_id}: {SUCCEEDED}")
    package._save(state=SUCCEEDED)
    return package


def _build_and_push(
    client: Any, package: ModelPackage, registry: ContainerRegistry, base_image: str
) -> None:
    reference = package.location
    labels = {
        LABEL_PACKAGE: package.id,
        LABEL_WORKSPACE: engine.workspace_key(str(package.workspace.path)),
    }
    containers.build_layered(
        client,
        package.workspace,
        package.context_path,
        reference,
        package._log,
        labels,
        base_image,
    )
    package._log(f"image {reference} built")
    if registry.address:
        containers.push_image(client, reference, registry, package._log)


def check_output_directory(target: Path) -> None:
    """A save target must be absent or an empty folder: a context is never merged into files."""
    if target.exists() and not target.is_dir():
        raise InvalidArgument(f"Output directory {target} exists and is not a folder.")
    if target.is_dir() and any(target.iterdir()):
        raise InvalidArgument(
            f"Output directory {target} is not empty.",
            hint="Pick a new or empty folder; modelport never mixes a build context with other files.",
        )


def _checked(value: str, pattern: re.Pattern[str], what: str, allowed: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidArgument(f"Invalid {what} {value!r}: use {allowed}.")
    return value
