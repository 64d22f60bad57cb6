"""modelport: a self-hosted model registry and deployment platform.

Public names are imported lazily so that `import modelport` (and the CLI) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from modelport._version import __version__

VERSION = __version__

_EXPORTS: dict[str, str] = {
    "Workspace": "modelport.core.workspace",
    "Model": "modelport.core.model",
    "ResourceConfiguration": "modelport.registry.resources",
    "Experiment": "modelport.registry.runs",
    "Run": "modelport.core.run",
    "Environment": "modelport.environments",
    "CondaDependencies": "modelport.environments",
    "ComputeTarget": "modelport.core.compute",
    "ModelportError": "modelport.errors",
    "InferenceConfig": "modelport.configs",
    "DeploymentConfig": "modelport.configs",
    "Webservice": "modelport.core.webservice",
    "LocalWebservice": "modelport.core.webservice",
    "AciWebservice": "modelport.core.webservice",
    "AksWebservice": "modelport.core.webservice",
    "ContainerWebservice": "modelport.core.webservice",
    "KubernetesWebservice": "modelport.core.webservice",
    "WebserviceException": "modelport.errors",
    "Endpoint": "modelport.core.endpoint",
    "EndpointVersion": "modelport.core.endpoint",
    "AksEndpoint": "modelport.core.endpoint",
    "Dataset": "modelport.registry.datasets",
    "Datastore": "modelport.registry.datasets",
    "ModelProfile": "modelport.profiling.profile",
    "ModelPackage": "modelport.packaging",
    "Image": "modelport.core.image",
    "ScriptRunConfig": "modelport.core.script_run_config",
    "RunConfiguration": "modelport.core.runconfig",
}

__all__ = [
    "VERSION",
    "AciWebservice",
    "AksEndpoint",
    "AksWebservice",
    "ComputeTarget",
    "CondaDependencies",
    "ContainerWebservice",
    "Dataset",
    "Datastore",
    "DeploymentConfig",
    "Endpoint",
    "EndpointVersion",
    "Environment",
    "Experiment",
    "Image",
    "InferenceConfig",
    "KubernetesWebservice",
    "LocalWebservice",
    "Model",
    "ModelPackage",
    "ModelProfile",
    "ModelportError",
    "ResourceConfiguration",
    "Run",
    "RunConfiguration",
    "ScriptRunConfig",
    "Webservice",
    "WebserviceException",
    "Workspace",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'modelport' has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("modelport."):
            raise
        # A service environment holds only modelport-runtime (the scoring server and shims).
        raise ModuleNotFoundError(
            f"modelport.{name} is not part of modelport-runtime, which is all a service "
            "environment installs; import it from azureml.core in entry scripts, or list "
            "'modelport' in the environment's pip packages to install all of it",
            name=exc.name,
        ) from None
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from modelport.configs import DeploymentConfig, InferenceConfig
    from modelport.core.compute import ComputeTarget
    from modelport.core.endpoint import AksEndpoint, Endpoint, EndpointVersion
    from modelport.core.image import Image
    from modelport.core.model import Model
    from modelport.core.run import Run
    from modelport.core.runconfig import RunConfiguration
    from modelport.core.script_run_config import ScriptRunConfig
    from modelport.core.webservice import (
        AciWebservice,
        AksWebservice,
        ContainerWebservice,
        KubernetesWebservice,
        LocalWebservice,
        Webservice,
    )
    from modelport.core.workspace import Workspace
    from modelport.environments import CondaDependencies, Environment
    from modelport.errors import ModelportError, WebserviceException
    from modelport.packaging import ModelPackage
    from modelport.profiling.profile import ModelProfile
    from modelport.registry.datasets import Dataset, Datastore
    from modelport.registry.resources import ResourceConfiguration
    from modelport.registry.runs import Experiment
