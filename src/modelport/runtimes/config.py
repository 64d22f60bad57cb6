"""`no_code_config`: the inference and deployment configs of a model deployed without code."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.configs import DeploymentConfig, InferenceConfig
from modelport.errors import InvalidArgument
from modelport.registry.models import Model
from modelport.runtimes.environment import runtime_environment
from modelport.runtimes.frameworks import runtime_for
from modelport.runtimes.validate import validate

if TYPE_CHECKING:
    from modelport.environments import Environment
    from modelport.registry.resources import ResourceConfiguration


def no_code_config(
    models: Sequence[Model],
    deployment_config: DeploymentConfig | None = None,
    environment: Environment | None = None,
) -> tuple[InferenceConfig, DeploymentConfig]:
    """The built-in runtime's entry script and environment for one model with a supported
    framework, and the deployment config with the model's resource_configuration as defaults."""
    if len(models) != 1:
        raise InvalidArgument(
            f"Model.deploy needs an inference_config for {len(models)} models: deploying without "
            "code takes exactly one model.",
            hint="Pass InferenceConfig(entry_script='score.py', environment=env).",
        )
    model = models[0]
    root = Path(Model.get_model_path(model.name, model.version, _workspace=model.workspace))
    runtime = runtime_for(model, root)
    validate(runtime, model, root)
    env = environment or runtime_environment(runtime, model.model_framework_version)
    inference = InferenceConfig(entry_script=str(runtime.script_path), environment=env)
    return inference, with_resources(
        deployment_config or DeploymentConfig(), model.resource_configuration
    )


def with_resources(
    config: DeploymentConfig, resources: ResourceConfiguration | None
) -> DeploymentConfig:
    """A copy of `config` whose unset cpu_cores / memory_gb come from the model's registration."""
    if resources is None:
        return config
    return dataclasses.replace(
        config,
        cpu_cores=config.cpu_cores if config.cpu_cores is not None else resources.cpu,
        memory_gb=config.memory_gb if config.memory_gb is not None else resources.memory_in_gb,
    )
