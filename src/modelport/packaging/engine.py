"""The container engine (Docker or Podman) behind images and container services.

Both speak the Docker API on a socket; modelport talks to it with the `docker` Python client
(the `container` extra). The engine is, first found wins: `MODELPORT_CONTAINER_ENGINE`, the
workspace's `container_engine` setting (`ws.set_container_engine(url)`), `DOCKER_HOST`, then
Docker's socket, then Podman's (rootful, then rootless, then `scripts/start-podman`'s).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport import settings
from modelport.errors import DockerUnavailable, MissingDependency

if TYPE_CHECKING:
    from modelport.workspace import Workspace

ENGINE_ENV = "MODELPORT_CONTAINER_ENGINE"
_PING_TIMEOUT_S = 5
_API_TIMEOUT_S = 900  # builds and pulls stream for minutes
INSTALL_HINT = (
    "Install Docker (https://docs.docker.com/engine/install/) or Podman (`apt-get install podman`, "
    "then `podman system service --time=0 unix:///run/podman/podman.sock &`), or point "
    f"{ENGINE_ENV} at a running engine's socket (unix:///…)."
)


@dataclass(frozen=True)
class EngineAddress:
    url: str  # unix:///path, tcp://host:port
    source: str  # where the address came from, for messages

    @property
    def local_path(self) -> Path | None:
        return Path(self.url.removeprefix("unix://")) if self.url.startswith("unix://") else None


def workspace_key(workspace_path: str) -> str:
    """A short stable id of a workspace folder, for labels and names on a shared engine."""
    import hashlib

    return hashlib.sha256(workspace_path.encode()).hexdigest()[:10]


def candidates(workspace: Workspace | None = None) -> list[EngineAddress]:
    """Every address to try, in order; an explicit setting stops the search."""
    explicit = settings.get(ENGINE_ENV)
    if explicit:
        return [EngineAddress(_url(explicit), ENGINE_ENV)]
    if workspace is not None:
        configured = workspace_engine(workspace)
        if configured:
            return [EngineAddress(_url(configured), "the workspace's container_engine setting")]
    if os.environ.get("DOCKER_HOST"):
        return [EngineAddress(os.environ["DOCKER_HOST"], "DOCKER_HOST")]
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    sockets = [
        ("/var/run/docker.sock", "Docker's socket"),
        ("/run/podman/podman.sock", "Podman's socket"),
        (f"{runtime}/podman/podman.sock", "Podman's rootless socket"),
        (f"{runtime}/docker.sock", "rootless Docker's socket"),
        ("/var/tmp/modelport/podman/podman.sock", "scripts/start-podman's socket"),
    ]
    return [EngineAddress(f"unix://{path}", what) for path, what in sockets]


def workspace_engine(workspace: Workspace) -> str | None:
    from modelport.packaging.workspace_settings import read_container_settings

    value = read_container_settings(workspace).get("engine")
    return str(value) if value else None


def _url(value: str) -> str:
    return f"unix://{value}" if value.startswith("/") else value


def docker_module() -> Any:
    try:
        import docker
    except ImportError:
        raise MissingDependency("docker", "container", "Container images and services") from None
    return docker


def connect(workspace: Workspace | None = None) -> Any:
    """A `docker.DockerClient` on the first engine that answers; DockerUnavailable otherwise.
    Clients are kept for the life of the process, one per address: do not close them."""
    client, reason = _try_connect(workspace)
    if client is None:
        raise DockerUnavailable(f"No container engine is available ({reason}).", hint=INSTALL_HINT)
    return client


def engine_problem(workspace: Workspace | None = None) -> str | None:
    """Why no engine answers, in a few words; None when one does."""
    try:
        client, reason = _try_connect(workspace)
    except MissingDependency as exc:
        return exc.message
    return None if client is not None else reason


# The docker client leaks its unix sockets even when closed, so each address gets one client
# for the life of the process instead of one per call.
_CLIENTS: dict[str, Any] = {}


def _try_connect(workspace: Workspace | None) -> tuple[Any, str | None]:
    docker = docker_module()
    tried: list[str] = []
    for address in candidates(workspace):
        path = address.local_path
        if path is not None and not path.exists():
            tried.append(f"{address.source} {path} does not exist")
            continue
        client = _CLIENTS.get(address.url)
        if client is None:
            client = docker.DockerClient(
                base_url=address.url, timeout=_PING_TIMEOUT_S, version="1.41"
            )
        try:
            client.api.timeout = _PING_TIMEOUT_S
            client.ping()
        except Exception as exc:  # the client raises requests' and its own errors alike
            _CLIENTS.pop(address.url, None)
            tried.append(f"{address.source} {address.url} does not answer: {_short(exc)}")
            continue
        client.api.timeout = _API_TIMEOUT_S
        _CLIENTS[address.url] = client
        return client, None
    return None, "; ".join(tried) or "no engine address to try"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
