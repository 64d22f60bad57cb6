"""The v1 service classes by target: their `deploy_configuration` builders and aliases.

`LocalWebservice` runs here; `ContainerWebservice` / `KubernetesWebservice` (v1 names
`AciWebservice` / `AksWebservice`) build configs for targets that plug in later.
"""

from __future__ import annotations

from typing import Any

from modelport.deploy.config import DeploymentConfig
from modelport.deploy.webservice import Webservice


class LocalWebservice(Webservice):
    """A service on this machine: a supervised process tree, no Docker."""

    @staticmethod
    def deploy_configuration(
        port: int | None = None,
        workers: int | None = None,
        auth_enabled: bool = False,
        token_auth_enabled: bool = False,
        scoring_timeout_ms: int | None = None,
        max_concurrent_requests_per_container: int | None = None,
        max_request_wait_time: int | None = None,
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        host: str = "127.0.0.1",
        environment_variables: dict[str, str] | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        **_unused: Any,
    ) -> DeploymentConfig:
        return DeploymentConfig(
            compute_type="local",
            port=port,
            host=host,
            workers=workers,
            auth_enabled=auth_enabled,
            token_auth_enabled=token_auth_enabled,
            scoring_timeout_ms=scoring_timeout_ms,
            max_concurrent_requests_per_container=max_concurrent_requests_per_container,
            max_request_wait_time=max_request_wait_time,
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
            environment_variables=dict(environment_variables or {}),
            description=description,
            tags=dict(tags or {}),
        )


class ContainerWebservice(Webservice):
    """A single-container service (v1: ACI)."""

    @staticmethod
    def deploy_configuration(
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        auth_enabled: bool = False,
        token_auth_enabled: bool = False,
        port: int | None = None,
        environment_variables: dict[str, str] | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        **extra: Any,
    ) -> DeploymentConfig:
        return DeploymentConfig(
            compute_type="container",
            primary_key=primary_key,
            secondary_key=secondary_key,
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
            tags=dict(tags or {}),
            description=description,
            auth_enabled=auth_enabled,
            token_auth_enabled=token_auth_enabled,
            port=port,
            environment_variables=dict(environment_variables or {}),
            extra=extra,
        )


class KubernetesWebservice(Webservice):
    """A service on Kubernetes (v1: AKS)."""

    @staticmethod
    def deploy_configuration(
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        auth_enabled: bool = True,
        token_auth_enabled: bool = False,
        scoring_timeout_ms: int | None = 60_000,
        replica_max_concurrent_requests: int | None = None,
        max_request_wait_time: int | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        environment_variables: dict[str, str] | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        **extra: Any,
    ) -> DeploymentConfig:
        return DeploymentConfig(
            compute_type="kubernetes",
            primary_key=primary_key,
            secondary_key=secondary_key,
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
            auth_enabled=auth_enabled,
            token_auth_enabled=token_auth_enabled,
            scoring_timeout_ms=scoring_timeout_ms,
            max_concurrent_requests_per_container=replica_max_concurrent_requests,
            max_request_wait_time=max_request_wait_time,
            tags=dict(tags or {}),
            description=description,
            environment_variables=dict(environment_variables or {}),
            extra=extra,
        )


AciWebservice = ContainerWebservice
AksWebservice = KubernetesWebservice
