"""The deployment-target interface: every target (local, container, Kubernetes, Ray) does
the same five things, and `Model.deploy` picks one from the deployment config's compute type."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.errors import InvalidArgument

if TYPE_CHECKING:
    from modelport.deploy.config import DeploymentConfig, InferenceConfig
    from modelport.registry.models import Model
    from modelport.workspace import Workspace

Log = Callable[[str], None]


@dataclass
class ServiceSpec:
    """Everything a target needs to run one revision of a service."""

    workspace: Workspace
    name: str
    folder: Path
    revision: int
    models: list[Model]
    inference_config: InferenceConfig
    deployment_config: DeploymentConfig


class DeploymentTarget(abc.ABC):
    compute_type: str

    @abc.abstractmethod
    def deploy(self, spec: ServiceSpec, log: Log) -> None:
        """Start the service; return once it is starting (wait_for_deployment waits)."""

    @abc.abstractmethod
    def update(self, spec: ServiceSpec, log: Log) -> None:
        """Replace the running revision with `spec` without dropping requests; return once it
        serves, or raise WebserviceException with the old revision restored."""

    @abc.abstractmethod
    def state(self, folder: Path, port: int | None) -> tuple[str, str | None]:
        """(state, error) as the service is right now."""

    @abc.abstractmethod
    def logs(self, folder: Path, num_lines: int) -> str: ...

    @abc.abstractmethod
    def delete(self, folder: Path) -> None:
        """Stop every process and free every resource the service holds."""

    @abc.abstractmethod
    def restart(self, folder: Path) -> None:
        """Start the service again from its last applied revision; return once it serves."""


def get_target(compute_type: str) -> DeploymentTarget:
    """The target for a compute type; built-ins register the same way plug-ins would."""
    if compute_type == "local":
        from modelport.deploy.local import LocalTarget

        return LocalTarget()
    raise InvalidArgument(
        f"The '{compute_type}' deployment target is not available in this modelport version.",
        hint="Deploy locally with LocalWebservice.deploy_configuration(), or use `modelport "
        "package` to build a container image for it.",
    )
