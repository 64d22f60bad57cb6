"""Images on the container engine (`engine.py`) and the registry they are pushed to.

Build output streams to a log line by line; failures are turned into one line that says what
to do: a base image that cannot be pulled (this machine may be offline), the pip line that
failed, a registry that refused the credentials.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport import settings
from modelport.errors import DockerUnavailable, PackageError
from modelport.packaging import engine

if TYPE_CHECKING:
    from modelport.workspace import Workspace

Log = Callable[[str], None]
REGISTRY_ENV = "MODELPORT_CONTAINER_REGISTRY"
_PULL_FAILURE = re.compile(
    r"initializing source|pull access denied|manifest unknown|no such host|"
    r"error pulling|failed to resolve|not found: manifest|dial tcp|repository does not exist",
    re.IGNORECASE,
)
_AUTH_FAILURE = re.compile(r"unauthorized|authentication required|401|denied", re.IGNORECASE)


@dataclass(frozen=True)
class ContainerRegistry:
    """v1's `package.get_container_registry()` result: where images go and how to log in.

    Without a configured registry all three are None: the image stays in the local engine and
    the Dockerfile's default base image is public, so there is nothing to log in to.
    """

    address: str | None = None
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never print the password
        shown = "***" if self.password else None
        return f"ContainerRegistry(address={self.address!r}, username={self.username!r}, password={shown!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ContainerRegistry:
        """MODELPORT_CONTAINER_REGISTRY (address), `_USERNAME` and `_PASSWORD`."""
        return cls(
            address=settings.get(REGISTRY_ENV, environ),
            username=settings.get(f"{REGISTRY_ENV}_USERNAME", environ),
            password=settings.get(f"{REGISTRY_ENV}_PASSWORD", environ),
        )

    @classmethod
    def configured(cls, workspace: Workspace, environ: Mapping[str, str]) -> ContainerRegistry:
        """The environment's registry if it names one, else the workspace's (containers.json)."""
        from_env = cls.from_env(environ)
        if from_env.address:
            return from_env
        from modelport.packaging.workspace_settings import read_container_settings

        stored = read_container_settings(workspace).get("registry") or {}
        return cls(stored.get("address"), stored.get("username"), stored.get("password"))

    def image_reference(self, name: str, label: str) -> str:
        prefix = f"{self.address.rstrip('/')}/" if self.address else ""
        return f"{prefix}{name}:{label}"

    def auth_config(self) -> dict[str, str] | None:
        if self.username is None:
            return None
        return {"username": self.username, "password": self.password or ""}


def require_engine(workspace: Workspace | None = None) -> Any:
    """A client on the engine, or DockerUnavailable (one line) saying how to get one."""
    reason = engine.engine_problem(workspace)
    if reason is not None:
        raise DockerUnavailable(
            f"No container engine (Docker or Podman) is available ({reason}); pass "
            "generate_dockerfile=True to get a Dockerfile and build context instead "
            "(`modelport model package --output-dir DIR`).",
            hint=engine.INSTALL_HINT,
        )
    return engine.connect(workspace)


def build_image(
    client: Any,
    context: Path,
    reference: str,
    log: Log,
    labels: Mapping[str, str] | None = None,
    base_image: str | None = None,
) -> str:
    """Build `context` as `reference`, streaming the output to `log`; the image id."""
    output: list[str] = []
    image_id: str | None = None
    failure: str | None = None
    stream = client.api.build(
        path=str(context),
        tag=reference,
        rm=True,
        forcerm=True,
        decode=True,
        labels=dict(labels or {}),
    )
    for chunk in stream:
        for line in _lines(chunk):
            output.append(line)
            log(line)
        if "error" in chunk or "errorDetail" in chunk:
            failure = str(chunk.get("error") or chunk["errorDetail"].get("message", ""))
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            image_id = str(aux["ID"])
    if failure is not None or image_id is None:
        _remove_untagged(client, labels or {})
        raise PackageError(_build_failure(failure or "no image was produced", output, base_image))
    return image_id


def _remove_untagged(client: Any, labels: Mapping[str, str]) -> None:
    """A failed build can leave an untagged image with our labels: remove it."""
    if not labels:
        return
    key, value = next(iter(labels.items()))
    for image in client.images.list(filters={"label": f"{key}={value}"}):
        if not image.tags:
            with contextlib.suppress(Exception):  # held by a container: the engine keeps it
                client.images.remove(image.id, force=True)


def _lines(chunk: dict[str, Any]) -> Iterable[str]:
    text = chunk.get("stream") or chunk.get("status") or ""
    for line in str(text).splitlines():
        if line.strip():
            yield line.rstrip()


def _build_failure(error: str, output: list[str], base_image: str | None) -> str:
    error = error.strip().splitlines()[-1] if error.strip() else error
    before_first_step = not any(line.startswith("STEP 2") for line in output)
    if base_image and before_first_step and (_PULL_FAILURE.search(error) or not output):
        return (
            f"The base image {base_image} cannot be pulled ({error}). This machine may be "
            "offline or the registry unreachable: pull or build it into the local engine "
            "first, or set environment.docker.base_image / InferenceConfig(base_image=...) "
            "to an image the engine has."
        )
    pip_errors = [ln for ln in output if ln.lstrip().startswith("ERROR:")]
    if pip_errors:
        return f"Installing the environment's packages failed: {pip_errors[0].strip()} ({error})"
    return f"The image build failed: {error}"


def push_image(client: Any, reference: str, registry: ContainerRegistry, log: Log) -> None:
    """Push `reference` to its registry with the registry's credentials."""
    repository, tag = _split(reference)
    log(f"pushing {reference}")
    api = client.api
    response = api._post(
        api._url("/images/{0}/push", repository),
        params=_registry_params(registry, tag=tag),
        headers=_auth_header(registry),
        stream=True,
    )
    with response:
        _follow(api._stream_helper(response, decode=True), log, f"push {reference}", registry)
    log(f"pushed {reference}")


def pull_image(client: Any, reference: str, registry: ContainerRegistry, log: Log) -> None:
    repository, tag = _split(reference)
    log(f"pulling {reference}")
    api = client.api
    response = api._post(
        api._url("/images/create"),
        params=_registry_params(registry, fromImage=repository, tag=tag),
        headers=_auth_header(registry),
        stream=True,
    )
    with response:
        if response.status_code >= 400:
            raise PackageError(_registry_failure(f"pull {reference}", response.text, registry))
        _follow(api._stream_helper(response, decode=True), log, f"pull {reference}", registry)
    log(f"pulled {reference}")


def _registry_params(registry: ContainerRegistry, **params: str) -> dict[str, str]:
    # a registry on this machine speaks plain HTTP (Docker assumes so for loopback; Podman
    # needs to be told, and ignores registries.conf changes made after its service started)
    host = (registry.address or "").split("/")[0].rsplit(":", 1)[0]
    if host in ("127.0.0.1", "localhost", "[::1]"):
        params["tlsVerify"] = "false"
    return params


def _auth_header(registry: ContainerRegistry) -> dict[str, str]:
    from docker import auth

    config = registry.auth_config()
    return {"X-Registry-Auth": auth.encode_header(config)} if config else {}


def image_exists(client: Any, reference: str) -> bool:
    docker = engine.docker_module()
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def _follow(
    stream: Iterable[dict[str, Any]], log: Log, what: str, registry: ContainerRegistry
) -> None:
    for chunk in stream:
        if "error" in chunk or "errorDetail" in chunk:
            message = str(chunk.get("error") or chunk["errorDetail"].get("message", ""))
            raise PackageError(_registry_failure(what, message, registry))
        status = chunk.get("status")
        if status and chunk.get("progressDetail") in (None, {}):
            log(str(status))


def _registry_failure(what: str, message: str, registry: ContainerRegistry) -> str:
    message = message.strip().splitlines()[-1] if message.strip() else "no reason given"
    if _AUTH_FAILURE.search(message):
        who = f"user {registry.username!r}" if registry.username else "no credentials"
        return (
            f"The registry {registry.address} refused to {what.split()[0]} with {who}: {message}. "
            "Check the registry user name and password (`modelport workspace set-registry`)."
        )
    return f"Could not {what}: {message}"


def _split(reference: str) -> tuple[str, str]:
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:
        return reference, "latest"
    return name, tag
