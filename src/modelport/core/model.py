"""`azureml.core.model` equivalents: `Model` with v1's deploy, package and profile.

The registry's `Model` knows nothing of deployment; this subclass adds the v1 entry points
that do (`Model.deploy`, `Model.package`, `Model.profile`), so `from modelport.core import
Model` is the one class a ported notebook needs.
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from modelport._ignored import ignored
from modelport.errors import NotFound
from modelport.registry import models as registry
from modelport.registry.models import parse_model_id
from modelport.registry.resources import ResourceConfiguration

if TYPE_CHECKING:
    from modelport.configs import DeploymentConfig, InferenceConfig
    from modelport.core.endpoint import Endpoint
    from modelport.core.webservice import Webservice
    from modelport.deploy.endpoint import EndpointConfig
    from modelport.packaging.package import ModelPackage
    from modelport.profiling.profile import ModelProfile
    from modelport.workspace import Workspace

# Deploying, packaging and profiling load far more than the registry (httpx, psutil, the
# environment builder); they are imported when first used, so `modelport model list` and
# other registry commands start in ~0.1 s.
_LAZY = {
    "InferenceConfig": "modelport.configs",
    "ModelPackage": "modelport.packaging.package",
    "ModelProfile": "modelport.profiling.profile",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'modelport.core.model' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "InferenceConfig",
    "Model",
    "ModelPackage",
    "ModelProfile",
    "ResourceConfiguration",
    "parse_model_id",
]


class Model(registry.Model):
    """One registered model version (see `modelport.registry.models.Model`)."""

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        version: int | str | None = None,
        run_id: str | None = None,
        model_framework: str | None = None,
        expand: bool = True,
        *,
        _record: Any = None,
    ) -> None:
        """As the registry's Model; `model_framework` must match the version found (v1's
        filter), `expand` only shaped v1's REST payload."""
        if expand is not True:
            ignored("Model(expand=)", _NO_EXPAND)
        super().__init__(workspace, name, id, tags, properties, version, run_id, _record=_record)
        wanted = registry.Framework.normalize(model_framework) if model_framework else None
        if wanted is not None and self.model_framework != wanted:
            raise NotFound(
                f"Model {self.id} has framework {self.model_framework!r}, not {wanted!r}.",
                hint="List versions with Model.list(ws, name, model_framework=...).",
            )

    @staticmethod
    def deploy(
        workspace: Workspace,
        name: str,
        models: Sequence[registry.Model | str],
        inference_config: InferenceConfig | None = None,
        deployment_config: DeploymentConfig | EndpointConfig | None = None,
        deployment_target: Any = None,
        overwrite: bool = False,
        show_output: bool = False,
    ) -> Webservice | Endpoint:
        """Deploy `models` as service `name`, or with an endpoint config
        (`Endpoint.deploy_configuration`) as endpoint `name` with its first version; call
        `wait_for_deployment()` on the result."""
        from modelport.deploy.endpoint import EndpointConfig

        if isinstance(deployment_config, EndpointConfig):
            from modelport.core.endpoint import Endpoint
            from modelport.deploy.endpoint import create_endpoint

            if deployment_target is not None:  # v1: AksEndpoint on an attached cluster
                deployment_config = _endpoint_on_compute(
                    workspace, deployment_config, deployment_target
                )
            create_endpoint(
                workspace, name, models, inference_config, deployment_config, overwrite, show_output
            )
            return Endpoint(workspace, name)

        from modelport.core.webservice import Webservice

        return Webservice._deploy(
            workspace,
            name,
            models,
            inference_config,
            deployment_config,
            overwrite,
            show_output,
            deployment_target=deployment_target,
        )

    @staticmethod
    def package(
        workspace: Workspace,
        models: Sequence[registry.Model | str],
        inference_config: InferenceConfig | None = None,
        generate_dockerfile: bool = False,
        image_name: str | None = None,
        image_label: str | None = None,
    ) -> ModelPackage:
        """Package `models` as a Docker image, or with `generate_dockerfile=True` as a build
        context to `save()`; call `wait_for_creation()` on the result."""
        from modelport.packaging.package import create_package

        return create_package(
            workspace, models, inference_config, generate_dockerfile, image_name, image_label
        )

    @staticmethod
    def profile(
        workspace: Workspace,
        profile_name: str,
        models: Sequence[registry.Model | str],
        inference_config: InferenceConfig,
        input_dataset: Any = None,
        cpu: float | None = None,
        memory_in_gb: float | None = None,
        description: str | None = None,
        **options: Any,
    ) -> ModelProfile:
        """Profile the service `models` would make; call `wait_for_completion()` on the result.

        `options` are `ProfileSettings` fields (workers, concurrency_steps, step_duration_s,
        latency_target_ms, target_rps, ...).
        """
        from modelport.profiling.profile import ProfileSettings, start_profile

        return start_profile(
            workspace,
            profile_name,
            models,
            inference_config,
            input_dataset,
            cpu=cpu,
            memory_in_gb=memory_in_gb,
            description=description,
            settings=ProfileSettings(**options),
        )

    # -- the rest of v1's Model surface -----------------------------------------------------
    @classmethod
    def list(  # type: ignore[override]
        cls,
        workspace: Workspace,
        name: str | None = None,
        tags: Sequence[Any] | None = None,
        properties: Sequence[Any] | None = None,
        run_id: str | None = None,
        latest: bool = False,
        dataset_id: str | None = None,
        expand: bool = True,
        page_count: int = 255,
        model_framework: str | None = None,
    ) -> builtins.list[Self]:
        """As the registry's `list`, plus v1's `model_framework` filter; every match comes in
        one page (`page_count` has nothing to split), and `expand` only shaped v1's payload."""
        if dataset_id is not None:
            ignored(
                "Model.list(dataset_id=)", _NO_DATASET_LINKS + "; models are not filtered by it"
            )
        if expand is not True:
            ignored("Model.list(expand=)", _NO_EXPAND)
        found = super().list(workspace, name, tags, properties, run_id, latest)
        if model_framework is None:
            return found
        wanted = registry.Framework.normalize(model_framework)
        return [m for m in found if m.model_framework == wanted]

    @staticmethod
    def deserialize(workspace: Workspace, model_payload: Mapping[str, Any]) -> Model:
        """The model a `serialize()` payload names (by its id)."""
        return Model(workspace, id=str(model_payload["id"]))

    def get_sas_urls(self) -> dict[str, str]:
        """Each file of the model (relative path) -> a `file://` URL of a verified local copy
        (v1 returned signed blob URLs; here the artifacts are files on this machine)."""
        root = self.materialize(self.workspace.path / "cache" / "azureml-models")
        if root.is_file():
            return {root.name: root.resolve().as_uri()}
        return {
            p.relative_to(root).as_posix(): p.resolve().as_uri()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    def add_dataset_references(self, datasets: Sequence[Any]) -> None:
        ignored("Model.add_dataset_references()", _NO_DATASET_LINKS)

    def update_tags_properties(
        self,
        add_tags: Mapping[str, str] | None = None,
        remove_tags: Iterable[str] | None = None,
        add_properties: Mapping[str, str] | None = None,
    ) -> None:
        """Add and remove tags and add properties in one call."""
        if add_tags:
            self.add_tags(add_tags)
        if remove_tags:
            self.remove_tags(remove_tags)
        if add_properties:
            self.add_properties(add_properties)

    def update(  # type: ignore[override]
        self,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: ResourceConfiguration | None = None,
    ) -> None:
        """Replace the tags and/or description; the samples and resource configuration are
        fixed when the version is registered (register a new version to change them)."""
        for keyword, value in (
            ("sample_input_dataset", sample_input_dataset),
            ("sample_output_dataset", sample_output_dataset),
            ("resource_configuration", resource_configuration),
        ):
            if value is not None:
                ignored(f"Model.update({keyword}=)", "it is fixed at Model.register")
        super().update(tags=tags, description=description)

    @staticmethod
    def print_configuration(
        models: Sequence[registry.Model | str],
        inference_config: InferenceConfig,
        deployment_config: DeploymentConfig | None,
        deployment_target: Any,
    ) -> None:
        """Print what a deployment would be made of (v1 printed the same summary)."""
        print(f"Models: {', '.join(m if isinstance(m, str) else m.id for m in models)}")
        print(f"Entry script: {inference_config.entry_script}")
        if inference_config.source_directory:
            print(f"Source directory: {inference_config.source_directory}")
        env = inference_config.environment
        print(f"Environment: {env.name if env is not None else 'from conda_file / default'}")
        if deployment_config is not None:
            print(f"Deployment: {deployment_config.compute_type}")
        if deployment_target is not None:
            print(f"Deployment target: {getattr(deployment_target, 'name', deployment_target)}")


_NO_DATASET_LINKS = "modelport does not record dataset lineage for models"
_NO_EXPAND = "it shaped v1's REST payload; a Model here always has all its fields"


def _endpoint_on_compute(
    workspace: Workspace, config: EndpointConfig, compute: Any
) -> EndpointConfig:
    """The endpoint config with its versions aimed at the attached compute (v1's
    `Model.deploy(..., AksEndpoint.deploy_configuration(...), deployment_target=aks)`)."""
    import dataclasses

    from modelport.core.services import _on_compute
    from modelport.deploy.computes import get_compute

    name = compute if isinstance(compute, str) else getattr(compute, "name", compute)
    record = get_compute(workspace, name) if isinstance(name, str) else None
    dc = config.deployment_config
    if record is not None:
        dc = dataclasses.replace(dc, compute_type=record.compute_type)
    return dataclasses.replace(config, deployment_config=_on_compute(workspace, dc, compute))
