"""`azureml.core.webservice` equivalents: `Webservice` and its per-target classes
(`services.py`), and endpoints with versions (`endpoint.py`), under v1's import path.

`AciWebservice` / `AksWebservice` are aliases of `ContainerWebservice` /
`KubernetesWebservice`; `AksEndpoint` of `Endpoint`.
"""

from __future__ import annotations

from modelport.core.endpoint import AksEndpoint, Endpoint, EndpointVersion
from modelport.core.services import (
    AciWebservice,
    AksWebservice,
    ContainerWebservice,
    DeploymentConfig,
    KubernetesWebservice,
    LocalWebservice,
    ServiceNotFound,
    TargetFallbackWarning,
    Webservice,
    WebserviceException,
)

__all__ = [
    "AciWebservice",
    "AksEndpoint",
    "AksWebservice",
    "ContainerWebservice",
    "DeploymentConfig",
    "Endpoint",
    "EndpointVersion",
    "KubernetesWebservice",
    "LocalWebservice",
    "ServiceNotFound",
    "TargetFallbackWarning",
    "Webservice",
    "WebserviceException",
]
