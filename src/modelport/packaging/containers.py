"""The Docker engine and the container registry a package talks to.

modelport drives the `docker` CLI rather than a client library: the CLI is what users have and
what they debug with. An engine is "available" when `docker info` succeeds; with only the CLI
installed (no daemon) every image operation fails with one line saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from modelport import settings
from modelport.errors import DockerUnavailable, PackageError

Log = Callable[[str], None]
REGISTRY_ENV = "MODELPORT_CONTAINER_REGISTRY"
_INFO_TIMEOUT_S = 20


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

    def image_reference(self, name: str, label: str) -> str:
        prefix = f"{self.address.rstrip('/')}/" if self.address else ""
        return f"{prefix}{name}:{label}"


def require_engine() -> None:
    """Raise DockerUnavailable (one line) unless `docker info` succeeds."""
    reason = engine_problem()
    if reason is not None:
        raise DockerUnavailable(
            f"No Docker engine is available ({reason}); pass generate_dockerfile=True to get a "
            "Dockerfile and build context instead (`modelport model package --output-dir DIR`)."
        )


def engine_problem() -> str | None:
    """Why no engine answers, in a few words; None when one does."""
    docker = shutil.which("docker")
    if docker is None:
        return "the docker command is not installed"
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=_INFO_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"`docker info` did not answer within {_INFO_TIMEOUT_S}s"
    if result.returncode == 0 and result.stdout.strip():
        return None
    lines = [ln.strip() for ln in (result.stderr or result.stdout).splitlines() if ln.strip()]
    detail = lines[-1].removeprefix("ERROR: ").rstrip(".") if lines else "no output"
    return f"`docker info` failed: {detail}"


def build_image(context: Path, reference: str, log: Log) -> None:
    """`docker build -t reference context`, streaming its output to `log`."""
    _docker(["build", "--tag", reference, str(context)], log, f"build image {reference}")


def pull_image(reference: str, log: Log) -> None:
    _docker(["pull", reference], log, f"pull image {reference}")


def image_exists(reference: str) -> bool:
    result = subprocess.run(
        ["docker", "image", "inspect", reference], capture_output=True, check=False
    )
    return result.returncode == 0


def _docker(args: list[str], log: Log, what: str) -> None:
    require_engine()
    env = {**os.environ, "DOCKER_CLI_HINTS": "false"}
    with subprocess.Popen(
        ["docker", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        env=env,
    ) as proc:
        assert proc.stdout is not None
        last = "no output"
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            log(line)
            last = line.strip() or last
        code = proc.wait()
    if code != 0:
        raise PackageError(f"Docker could not {what}: {last}")
