"""`azureml.core.image` equivalent: v1's legacy image API mapped onto packaging and deploy.

Before `InferenceConfig` and `Model.deploy`, v1 code built an image first and deployed that:

    config = ContainerImage.image_configuration(execution_script="score.py", runtime="python",
                                                conda_file="env.yml")
    image = Image.create(ws, "myimage", [model], config); image.wait_for_creation()
    service = Webservice.deploy_from_image(ws, "mysvc", image, aci_config)

Here the image configuration becomes an `InferenceConfig`, `Image.create` is `Model.package`
(an image on this machine's container engine; without an engine, its build context with a
warning), and the image remembers its models and config, so `Webservice.deploy_from_image`
deploys exactly what was packaged on any target. Images are versioned by name, as in v1.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport._ignored import ignored
from modelport.configs import InferenceConfig
from modelport.errors import InvalidArgument, NotFound
from modelport.packaging import engine
from modelport.packaging.package import ModelPackage, create_package
from modelport.registry.documents import StoredDocument, matches_tags
from modelport.registry.models import Model

if TYPE_CHECKING:
    from modelport.workspace import Workspace

__all__ = ["ContainerImage", "ContainerImageConfig", "Image", "ImageFallbackWarning"]

KIND = "image"
_NO_SCHEMA = "inference-schema decorators on run() describe the service's input and output"


class ImageFallbackWarning(UserWarning):
    """No container engine: Image.create wrote the image's build context instead."""


class ContainerImageConfig:
    """v1's image configuration; `to_inference_config()` is what a service runs."""

    def __init__(
        self,
        execution_script: str,
        runtime: str,
        conda_file: str | None = None,
        docker_file: str | None = None,
        schema_file: str | None = None,
        dependencies: Sequence[str] | None = None,
        enable_gpu: bool | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        base_image: str | None = None,
        base_image_registry: Any = None,
        cuda_version: str | None = None,
    ) -> None:
        if schema_file is not None:
            ignored("ContainerImage.image_configuration(schema_file=)", _NO_SCHEMA)
        self.execution_script = execution_script
        self.runtime = runtime
        self.conda_file = conda_file
        self.docker_file = docker_file
        self.schema_file = schema_file
        self.dependencies = list(dependencies or [])
        self.enable_gpu = enable_gpu
        self.tags = dict(tags or {})
        self.properties = dict(properties or {})
        self.description = description
        self.base_image = base_image
        self.base_image_registry = base_image_registry
        self.cuda_version = cuda_version
        for path in [execution_script, *self.dependencies]:
            if not Path(path).exists():
                raise InvalidArgument(
                    f"{path} does not exist (paths are relative to {os.getcwd()})."
                )

    def to_inference_config(self, staging: Path | None = None) -> InferenceConfig:
        """The InferenceConfig this describes. With `dependencies`, the script and its
        dependencies are copied (at their paths relative to the working directory) into
        `staging`, which becomes the source directory."""
        source: str | None = None
        script = self.execution_script
        if self.dependencies:
            if staging is None:
                raise InvalidArgument("An image configuration with dependencies needs a workspace.")
            source = str(_stage([script, *self.dependencies], staging))
            script = _relative(script)
        return InferenceConfig(
            entry_script=script,
            runtime=self.runtime,
            conda_file=self.conda_file,
            extra_docker_file_steps=self.docker_file,
            source_directory=source,
            enable_gpu=self.enable_gpu,
            description=self.description,
            base_image=self.base_image,
            base_image_registry=self.base_image_registry,
            cuda_version=self.cuda_version,
        )


class Image(StoredDocument):
    """A packaged image: `Image(ws, name=..., version=None)` or `Image(ws, id="name:3")`."""

    KIND = KIND

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        version: int | None = None,
    ) -> None:
        if id is None:
            if name is None:
                raise InvalidArgument("Image(ws, ...) needs name= or id=.")
            found = Image._ids(workspace, name, tags, properties)
            if version is not None:
                found = [i for i in found if i == f"{name}:{version}"]
            if not found:
                raise NotFound(f"No image named '{name}' in this workspace.")
            id = found[-1]
        super().__init__(workspace, id)

    @classmethod
    def _missing(cls, name: str) -> NotFound:
        return NotFound(f"No image with id '{name}' in this workspace.")

    # -- v1's constructors ------------------------------------------------------------------
    image_configuration = staticmethod(ContainerImageConfig)  # v1 has it on both classes

    @staticmethod
    def create(
        workspace: Workspace, name: str, models: Sequence[Model | str], image_config: Any
    ) -> Image:
        """Package `models` with `image_config` as the next version of image `name`; call
        `wait_for_creation()` on the result."""
        version = 1 + max(
            (int(i.rsplit(":", 1)[1]) for i in Image._ids(workspace, name)), default=0
        )
        image_id = f"{name}:{version}"
        staging = workspace.path / "images" / name / str(version)
        shutil.rmtree(staging, ignore_errors=True)
        config = (
            image_config
            if isinstance(image_config, InferenceConfig)
            else image_config.to_inference_config(staging / "app")
        )
        problem = engine.engine_problem(workspace)
        if problem is not None:
            warnings.warn(
                f"No container engine ({problem}): image {image_id} is its Docker build "
                "context; deploy_from_image deploys its models and config on any target.",
                ImageFallbackWarning,
                stacklevel=2,
            )
        package = create_package(
            workspace,
            models,
            config,
            generate_dockerfile=problem is not None,
            image_name=name,
            image_label=str(version),
        )
        workspace.store.put_document(
            KIND,
            image_id,
            {
                "id": image_id,
                "name": name,
                "version": version,
                "package": package.id,
                "models": package.models,
                "inference_config": config.to_dict(),
                "tags": dict(getattr(image_config, "tags", {}) or {}),
                "properties": dict(getattr(image_config, "properties", {}) or {}),
                "description": getattr(image_config, "description", None),
                "created_time": time.time(),
            },
        )
        return Image(workspace, id=image_id)

    @staticmethod
    def list(
        workspace: Workspace,
        image_name: str | None = None,
        model_name: str | None = None,
        model_id: str | None = None,
        tags: Any = None,
        properties: Any = None,
    ) -> builtins.list[Image]:
        images = [
            Image(workspace, id=i) for i in Image._ids(workspace, image_name, tags, properties)
        ]
        return [
            i
            for i in images
            if (model_id is None or model_id in i.models)
            and (model_name is None or any(m.rsplit(":", 1)[0] == model_name for m in i.models))
        ]

    @staticmethod
    def deserialize(workspace: Workspace, image_payload: dict[str, Any]) -> Image:
        return Image(workspace, id=str(image_payload["id"]))

    @staticmethod
    def _ids(
        workspace: Workspace, name: str | None = None, tags: Any = None, properties: Any = None
    ) -> builtins.list[str]:
        docs = [
            d
            for d in workspace.store.list_documents(KIND)
            if (name is None or d["name"] == name)
            and matches_tags(d.get("tags", {}), tags)
            and matches_tags(d.get("properties", {}), properties)
        ]
        return [d["id"] for d in sorted(docs, key=lambda d: (d["name"], d["version"]))]

    # -- attributes -------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self._doc["id"])

    @property
    def name(self) -> str:
        return str(self._doc["name"])

    @property
    def version(self) -> int:
        return int(self._doc["version"])

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._doc.get("tags") or {})

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._doc.get("properties") or {})

    @property
    def description(self) -> str | None:
        return self._doc.get("description")

    @property
    def models(self) -> builtins.list[str]:
        return list(self._doc["models"])

    @property
    def inference_config(self) -> InferenceConfig:
        return InferenceConfig.from_dict(self._doc["inference_config"])

    @property
    def package(self) -> ModelPackage:
        return ModelPackage(self.workspace, self._doc["package"])

    @property
    def image_location(self) -> str:
        """The image reference on the engine, or the build context's folder."""
        return self.package.location

    @property
    def creation_state(self) -> str:
        return self.package.state

    @property
    def image_build_log_uri(self) -> str:
        return str(self.package.folder / "package.log")

    # -- v1 methods -------------------------------------------------------------------------
    def wait_for_creation(self, show_output: bool = False) -> None:
        self.package.wait_for_creation(show_output)

    def update_creation_state(self) -> None:
        self._refresh()

    def add_tags(self, tags: dict[str, str]) -> None:
        self._save(tags={**self.tags, **{str(k): str(v) for k, v in tags.items()}})

    def remove_tags(self, tags: Sequence[str]) -> None:
        self._save(tags={k: v for k, v in self.tags.items() if k not in set(tags)})

    def add_properties(self, properties: dict[str, str]) -> None:
        self._save(
            properties={**{str(k): str(v) for k, v in properties.items()}, **self.properties}
        )

    def update(self, tags: dict[str, str]) -> None:
        """Replace the tags (v1's `update`)."""
        self._save(tags={str(k): str(v) for k, v in tags.items()})

    def delete(self) -> None:
        """Forget the image and its package files (an image built on the engine stays)."""
        with contextlib.suppress(NotFound):
            self.package.delete()
        self._forget()
        shutil.rmtree(
            self.workspace.path / "images" / self.name / str(self.version), ignore_errors=True
        )

    def serialize(self) -> dict[str, Any]:
        return {**self._doc, "image_location": self.image_location, "state": self.creation_state}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace!r}, id={self.id!r})"


class ContainerImage(Image):
    """v1's Docker image class; `ContainerImage.image_configuration(...)` makes its config."""

    image_configuration = staticmethod(ContainerImageConfig)


def _relative(path: str) -> str:
    """`path` relative to the working directory; it must lie inside it (v1's rule)."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        raise InvalidArgument(
            f"{path} is outside the working directory {os.getcwd()}.",
            hint="v1 image configurations name files below the working directory.",
        ) from None


def _stage(paths: Sequence[str], staging: Path) -> Path:
    """Copy files and folders to `staging` at their working-directory-relative paths."""
    staging.mkdir(parents=True, exist_ok=True)
    for path in paths:
        target = staging / _relative(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if Path(path).is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        else:
            shutil.copy2(path, target)
    return staging
