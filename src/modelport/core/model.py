"""`azureml.core.model` equivalents: `Model` with v1's deploy, package and profile.

The registry's `Model` knows nothing of deployment; this subclass adds the v1 entry points
that do (`Model.deploy`, `Model.package`, `Model.profile`), so `from modelport.core import
Model` is the one class a ported notebook needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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

            create_endpoint(
                workspace, name, models, inference_config, deployment_config, overwrite, show_output
            )
            return Endpoint(workspace, name)

        from modelport.core.webservice import Webservice
        from modelport.deploy.service import deploy_service

        doc = deploy_service(
            workspace, name, models, inference_config, deployment_config, overwrite, show_output
        )
        service = Webservice(workspace, doc["name"])
        service._log_shown = doc["log_shown"]  # wait_for_deployment prints the log from there
        return service

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
