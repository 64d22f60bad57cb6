"""The deployment-target interface, and how targets are found.

A target runs revisions of a service somewhere (this machine, a container engine, a cluster).
The control plane (`service.py`) records each service in the metadata store and hands its
target a `ServiceRecord`: the name, a folder on this machine the target may keep files in
(`home`), the current deployment config and whatever the target stored about it (`data`).
Targets register under the `modelport.targets` entry-point group, built-ins exactly as a
third party's would; targets never import each other.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from modelport.errors import InvalidArgument

if TYPE_CHECKING:
    from modelport.configs import DeploymentConfig, InferenceConfig
    from modelport.registry.models import Model
    from modelport.workspace import Workspace

Log = Callable[[str], None]
ENTRY_POINT_GROUP = "modelport.targets"


@dataclass
class ServiceSpec:
    """Everything a target needs to run one revision of a service."""

    workspace: Workspace
    name: str
    revision: int
    models: list[Model]
    inference_config: InferenceConfig
    deployment_config: DeploymentConfig


@dataclass
class ServiceRecord:
    """One service as its target sees it; `data` is the target's own JSON-safe state."""

    workspace: Workspace
    name: str
    home: Path
    deployment_config: DeploymentConfig
    data: dict[str, Any] = field(default_factory=dict)


class DeploymentTarget(abc.ABC):
    """What every target does. Methods that wait return once the revision serves."""

    compute_type: ClassVar[str]

    def unavailable(self, workspace: Workspace) -> str | None:
        """Why this target cannot deploy from this workspace now (e.g. no engine), or None."""
        return None

    def unschedulable(self, spec: ServiceSpec) -> str | None:
        """Why the target cannot hold the service (resources, port), or None."""
        return None

    @abc.abstractmethod
    def place(self, spec: ServiceSpec, home: Path) -> dict[str, Any]:
        """Decide where the service goes (e.g. a port) before it is recorded; return `data`."""

    @abc.abstractmethod
    def deploy(self, record: ServiceRecord, spec: ServiceSpec, log: Log) -> None:
        """Start the first revision; return once it is starting (wait_for_deployment waits)."""

    @abc.abstractmethod
    def update(self, record: ServiceRecord, spec: ServiceSpec, log: Log) -> dict[str, Any]:
        """Replace the serving revision without dropping requests; return the new `data`.
        On failure raise WebserviceException with the previous revision still serving."""

    @abc.abstractmethod
    def state(self, record: ServiceRecord) -> tuple[str, str | None]:
        """(state, error) as the service is right now."""

    @abc.abstractmethod
    def logs(self, record: ServiceRecord, num_lines: int) -> str: ...

    @abc.abstractmethod
    def read_log(self, record: ServiceRecord, offset: int) -> tuple[str, int]:
        """Complete log lines written since `offset`, and the new offset (for streaming)."""

    @abc.abstractmethod
    def write_log(self, record: ServiceRecord, line: str) -> None:
        """Append one line of the control plane's own (deploy steps, failures) to the log."""

    @abc.abstractmethod
    def delete(self, record: ServiceRecord) -> None:
        """Stop everything the service runs and free everything it holds."""

    @abc.abstractmethod
    def restart(self, record: ServiceRecord) -> None:
        """Start the service again from its last applied revision."""

    @abc.abstractmethod
    def scoring_uri(self, record: ServiceRecord) -> str: ...

    def router_url(self, record: ServiceRecord) -> str:
        """Where an endpoint's router reaches this service (a base URL, no path): by
        default where a client here does; a target whose router runs elsewhere (in the
        cluster) says how it gets there."""
        return self.scoring_uri(record).removesuffix("/score")

    @abc.abstractmethod
    def swagger_uri(self, record: ServiceRecord) -> str: ...

    @abc.abstractmethod
    def get_keys(self, record: ServiceRecord) -> tuple[str, str]: ...

    @abc.abstractmethod
    def regen_key(self, record: ServiceRecord, key: str, set_key: str | None) -> None: ...

    @abc.abstractmethod
    def get_token(self, record: ServiceRecord) -> tuple[str, datetime]: ...

    def certificate_file(self, record: ServiceRecord) -> Path | None:
        """The PEM certificate a TLS service presents, so clients can verify a self-signed
        one; None without TLS. Targets that keep their own copy return that."""
        dc = record.deployment_config
        return Path(dc.ssl_cert_pem_file) if dc.ssl_enabled and dc.ssl_cert_pem_file else None

    def endpoint_router(self) -> Any:
        """The `deploy.routers.RouterHost` that runs endpoints whose versions are this
        target's services, or None when its endpoints use the local router."""
        return None

    def batch_executor(self) -> Any:
        """The `deploy.shards.ShardExecutor` that runs a batch step's shards on this
        target's computes (`ParallelRunConfig(node_count > 1)`), or None when it cannot."""
        return None

    def process_ids(self, record: ServiceRecord) -> list[int]:
        """PIDs on this machine whose process trees run the service (profiling samples them);
        empty when the target cannot tell."""
        return []


@functools.cache
def _registered() -> dict[str, Any]:
    from importlib.metadata import entry_points  # ~15 ms: only when a target is needed

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def target_names() -> list[str]:
    """Compute types with a target installed."""
    return sorted(_registered())


def get_target(compute_type: str) -> DeploymentTarget:
    """The installed target for a compute type; InvalidArgument when none is."""
    entry = _registered().get(compute_type)
    if entry is None:
        raise InvalidArgument(
            f"No '{compute_type}' deployment target is installed "
            f"(installed: {', '.join(target_names()) or 'none'}).",
            hint="Deploy with LocalWebservice.deploy_configuration(), or install the package "
            f"that provides the '{compute_type}' target.",
        )
    cls = entry.load()
    target: DeploymentTarget = cls()
    return target
