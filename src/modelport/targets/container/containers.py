"""Container-level operations of the container target: names, labels, run, read state, clean up.

Everything a service creates on the engine carries the labels `org.modelport.service` and
`org.modelport.workspace`, so `delete` finds it all by listing, whatever was recorded.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelport.packaging import engine
from modelport.packaging.containers import remove_build_steps, retry_listing
from modelport.packaging.engine import workspace_key

LABEL_SERVICE = "org.modelport.service"
LABEL_WORKSPACE = "org.modelport.workspace"
LABEL_REVISION = "org.modelport.revision"
OOM_EXIT = 137
STOP_TIMEOUT_S = 60  # the scoring server drains within seconds; SIGKILL after this


def labels(service: str, workspace_path: str, revision: int | None = None) -> dict[str, str]:
    found = {LABEL_SERVICE: service, LABEL_WORKSPACE: workspace_key(workspace_path)}
    if revision is not None:
        found[LABEL_REVISION] = str(revision)
    return found


def image_reference(service: str, workspace_path: str, revision: int) -> str:
    return f"localhost/modelport-service/{service}:{workspace_key(workspace_path)}-r{revision}"


def container_name(service: str, workspace_path: str, revision: int, attempt: str) -> str:
    return f"modelport-{service}-{workspace_key(workspace_path)}-r{revision}-{attempt}"


@dataclass(frozen=True)
class Observed:
    """A container as the engine reports it now."""

    status: str  # created, running, exited, …, or "missing"
    exit_code: int | None
    pid: int | None
    memory_limit: int  # bytes; 0 = none


def observe(client: Any, name: str) -> Observed:
    docker = engine.docker_module()
    try:
        attrs = client.api.inspect_container(name)
    except docker.errors.NotFound:
        return Observed("missing", None, None, 0)
    state = attrs.get("State") or {}
    host = attrs.get("HostConfig") or {}
    return Observed(
        status=str(state.get("Status", "unknown")).lower(),
        exit_code=state.get("ExitCode"),
        pid=state.get("Pid") or None,
        memory_limit=int(host.get("Memory") or 0),
    )


def failure_reason(observed: Observed, log_tail: str) -> str:
    """Why a container that exited is Failed: out of memory, or its last error line."""
    code = observed.exit_code
    # the kernel kills the biggest process at the limit: the container itself (137) or a
    # worker during start-up (the server then exits saying a worker got -9)
    killed = code == OOM_EXIT or "exited with code -9" in log_tail
    if killed and observed.memory_limit:
        limit = observed.memory_limit / 2**20
        return (
            f"out of memory: the container was killed at its memory limit of {limit:.0f} MB "
            f"(exit code {code}); raise memory_gb"
        )
    lines = [ln.strip() for ln in log_tail.splitlines() if ln.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return f"the container exited with code {code}: {line[len('error:') :].strip()}"
    last = lines[-1] if lines else "no output"
    return f"the container exited with code {code}: {last}"


def container_logs(client: Any, name: str, num_lines: int) -> str:
    docker = engine.docker_module()
    try:
        raw = client.api.logs(name, stdout=True, stderr=True, tail=num_lines)
    except docker.errors.NotFound:
        return ""
    return bytes(raw).decode(errors="replace")


def run_container(
    client: Any,
    name: str,
    image: str,
    command: list[str],
    environment: Mapping[str, str],
    mounts: Mapping[str, tuple[str, str]],
    labels: Mapping[str, str],
    cpu_cores: float | None,
    memory_gb: float | None,
) -> None:
    """Start `image` detached with the engine enforcing the CPU and memory limits."""
    options: dict[str, Any] = {}
    if cpu_cores:
        options["nano_cpus"] = int(cpu_cores * 1e9)
    if memory_gb:
        options["mem_limit"] = f"{max(6, int(memory_gb * 1024))}m"
        options["memswap_limit"] = options["mem_limit"]  # no swap beyond the limit
    client.containers.run(
        image,
        command,
        name=name,
        detach=True,
        init=True,  # Python as PID 1 would ignore SIGTERM
        environment=dict(environment),
        volumes={host: {"bind": bind, "mode": mode} for host, (bind, mode) in mounts.items()},
        labels=dict(labels),
        stop_signal="SIGTERM",
        **options,
    )


def stop_and_remove(client: Any, name: str, timeout: int = STOP_TIMEOUT_S) -> None:
    """SIGTERM (the server drains), SIGKILL after `timeout`, then remove it and its volumes."""
    docker = engine.docker_module()
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        return
    with contextlib.suppress(docker.errors.APIError):
        container.stop(timeout=timeout)
    with contextlib.suppress(docker.errors.NotFound):
        container.remove(v=True, force=True)


def remove_everything(client: Any, service: str, workspace_path: str) -> None:
    """Every container and image labelled for the service, whatever the records say, and
    the step images of a build that failed half-way."""
    docker = engine.docker_module()
    for container in labelled(client.containers, service, workspace_path):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(v=True, force=True)
    for image in labelled(client.images, service, workspace_path):
        remove_image(client, image.id)
    remove_build_steps(client, labels(service, workspace_path))


def labelled(collection: Any, service: str, workspace_path: str) -> list[Any]:
    """Containers or images carrying the service's labels. Filtered on one label by the engine
    (Podman's Docker API answers nothing to two label filters) and on the other here."""
    key = workspace_key(workspace_path)
    options = {"all": True} if hasattr(collection, "run") else {}
    found = retry_listing(
        lambda: collection.list(filters={"label": f"{LABEL_SERVICE}={service}"}, **options)
    )
    return [item for item in found if (item.labels or {}).get(LABEL_WORKSPACE) == key]


def remove_image(client: Any, reference: str) -> None:
    docker = engine.docker_module()
    deadline = time.monotonic() + 10
    while True:
        try:
            client.images.remove(reference, force=True)
            return
        except docker.errors.ImageNotFound:
            return
        except docker.errors.APIError:  # a container still being removed holds it
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
