"""A real container engine for the container target's tests: Podman's API service started by
`scripts/start-podman`, the offline base image from `scripts/build-base-image` (both cached and
idempotent). Without them the tests skip with the reason, unless MODELPORT_REQUIRE_CONTAINERS=1
(CI), which turns the skip into a failure. The session stops only what it started."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelport.core import Environment, InferenceConfig, Model, Workspace
from modelport.environments import CondaDependencies
from tests.conftest import SEED_SCORE

ROOT = Path(__file__).resolve().parents[3]
_KEPT: list[Any] = []  # the docker client leaks its sockets when collected: keep it to the end
LABEL_WORKSPACE = "org.modelport.workspace"


@dataclass(frozen=True)
class Engine:
    url: str
    base_image: str
    client: Any


def _unavailable(reason: str) -> None:
    if os.environ.get("MODELPORT_REQUIRE_CONTAINERS") == "1":
        pytest.fail(f"MODELPORT_REQUIRE_CONTAINERS=1 but containers cannot run: {reason}")
    pytest.skip(f"no container engine: {reason}")


def _script(name: str) -> str:
    result = subprocess.run(
        [str(ROOT / "scripts" / name)], capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != 0:
        _unavailable(f"scripts/{name} failed: {result.stderr.strip().splitlines()[-1:]}")
    return result.stdout.strip().splitlines()[-1]


def _answering(path: str) -> bool:
    """Whether an engine answers on the unix socket `path` (a raw _ping: no client to leak)."""
    import socket

    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.")
    except OSError:
        return False


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    try:
        import docker
    except ImportError:
        _unavailable(
            "the docker Python package is not installed (pip install 'modelport[container]')"
        )
    sock = os.environ.get("MODELPORT_PODMAN_SOCK", "/var/tmp/modelport/podman/podman.sock")
    already = _answering(sock)
    url = _script("start-podman")
    base_image = _script("build-base-image")
    client = docker.DockerClient(base_url=url, timeout=600, version="1.41")
    _KEPT.append(client)
    try:
        yield Engine(url, base_image, client)
    finally:
        if not already:
            subprocess.run([str(ROOT / "scripts" / "stop-podman")], check=False, timeout=60)


@pytest.fixture
def cws(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A workspace using the test engine and base image; at teardown its services are deleted
    and nothing labelled for it may be left on the engine."""
    from modelport.core.webservice import Webservice
    from modelport.targets.container.containers import workspace_key

    monkeypatch.setenv("MODELPORT_CONTAINER_ENGINE", engine.url)
    monkeypatch.setenv("MODELPORT_DEFAULT_BASE_IMAGE", engine.base_image)
    workspace = Workspace.create(tmp_path / "ws")
    yield workspace
    for service in Webservice.list(workspace):
        service.delete()
    left, images = leftovers(engine, workspace_key(str(workspace.path)))
    workspace.close()
    assert (left, images) == ([], []), "the test left containers or images behind"


def leftovers(engine: Engine, key: str) -> tuple[list[str], list[str]]:
    """Containers and images (build steps included: they carry the labels too) labelled for
    the workspace with this key. Podman fails a listing that meets an image another client
    is removing at that moment; the listing is tried again then."""
    import docker

    label = f"{LABEL_WORKSPACE}={key}"
    for _ in range(50):
        try:
            containers = engine.client.containers.list(all=True, filters={"label": label})
            images = engine.client.images.list(all=True, filters={"label": label})
            return [c.name for c in containers], [i.id for i in images]
        except docker.errors.APIError:
            time.sleep(0.2)
    raise AssertionError("the engine kept failing to list containers and images")


@pytest.fixture
def seed_env() -> Environment:
    """The seed's environment, scikit-learn pinned to the one that pickled the model."""
    import sklearn

    env = Environment("seed-env")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=[
            f"scikit-learn=={sklearn.__version__}",
            "joblib",
            "inference-schema[numpy-support]",
        ]
    )
    return env


@pytest.fixture
def seed_model(cws: Workspace, model_file: Path) -> Model:
    return Model.register(cws, model_file, "sklearn_regression_model")


@pytest.fixture
def seed_config(seed_env: Environment) -> InferenceConfig:
    return InferenceConfig(entry_script=str(SEED_SCORE), environment=seed_env)
