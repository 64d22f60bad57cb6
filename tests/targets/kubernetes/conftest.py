"""A real Kubernetes cluster for the Kubernetes target's tests.

By default the single-node 1.20 cluster of `scripts/start-kube` (binaries built once by
scripts/build-kube and cached), started on first use and stopped at the end of the session if
this session started it: the kubelet changes kernel settings machine-wide, so it runs only
while these tests do. `MODELPORT_TEST_KUBECONFIG=FILE` runs the same tests against a user's
cluster instead (`MODELPORT_TEST_KUBE_COMPUTE` = JSON of the compute's `extra`, e.g.
`{"exposure": "load-balancer"}`; default: host-network on 127.0.0.1). Images go through the
registry of `scripts/start-registry`. When the cluster cannot start the tests skip with the
reason; `MODELPORT_REQUIRE_KUBE=1` makes that a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelport.core import Workspace
from modelport.deploy.computes import ComputeRecord, attach_compute
from tests.targets.container.conftest import Engine, engine, seed_env  # noqa: F401

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Kube:
    kubeconfig: str
    extra: dict[str, object]


def _unavailable(reason: str) -> None:
    if os.environ.get("MODELPORT_REQUIRE_KUBE") == "1":
        pytest.fail(f"MODELPORT_REQUIRE_KUBE=1 but the Kubernetes cluster cannot run: {reason}")
    pytest.skip(f"no Kubernetes cluster: {reason}")


def _run(*command: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _ready(kubeconfig: str) -> bool:
    result = _run("kubectl", "--kubeconfig", kubeconfig, "get", "--raw", "/readyz", timeout=30)
    return result.returncode == 0


@pytest.fixture(scope="session")
def kube() -> Iterator[Kube]:
    user = os.environ.get("MODELPORT_TEST_KUBECONFIG")
    if user:
        extra = json.loads(os.environ.get("MODELPORT_TEST_KUBE_COMPUTE") or "{}")
        yield Kube(user, extra or {"exposure": "host-network"})
        return
    kubeconfig = "/var/tmp/modelport/kube/kubeconfig"
    already = os.path.exists(kubeconfig) and _ready(kubeconfig)
    # cold: builds the binaries first (~800 CPU-seconds, once per machine)
    result = _run(str(ROOT / "scripts" / "start-kube"))
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        _unavailable(f"scripts/start-kube failed: {' | '.join(lines[-3:])}")
    kubeconfig = result.stdout.strip().splitlines()[-1]
    try:
        yield Kube(kubeconfig, {"exposure": "host-network", "node_address": "127.0.0.1"})
    finally:
        if not already:
            _run(str(ROOT / "scripts" / "stop-kube"), timeout=300)


@pytest.fixture(scope="session")
def registry() -> tuple[str, str, str]:
    """The test registry (plain HTTP on 127.0.0.1; the cluster's containerd pulls from it)."""
    result = _run(str(ROOT / "scripts" / "start-registry"), timeout=600)
    if result.returncode != 0:
        _unavailable(f"scripts/start-registry failed: {result.stderr.strip().splitlines()[-1:]}")
    address, user, password = result.stdout.strip().splitlines()[-1].split()
    return address, user, password  # shared infrastructure: left running


@pytest.fixture
def kws(
    kube: Kube,
    registry: tuple[str, str, str],
    engine: Engine,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Workspace]:
    """A workspace with the test cluster attached as compute `kube`; at teardown its services
    are deleted and nothing labelled for it may be left on the cluster."""
    from modelport.core.webservice import Webservice
    from modelport.packaging.engine import workspace_key

    monkeypatch.setenv("MODELPORT_CONTAINER_ENGINE", engine.url)
    monkeypatch.setenv("MODELPORT_DEFAULT_BASE_IMAGE", engine.base_image)
    workspace = Workspace.create(tmp_path / "ws")
    workspace.set_container_registry(*registry)
    attach_compute(
        workspace, ComputeRecord("kube", kubeconfig=kube.kubeconfig, extra=dict(kube.extra))
    )
    yield workspace
    for service in Webservice.list(workspace):
        service.delete()
    selector = f"modelport.io/workspace={workspace_key(str(workspace.path))}"
    left = _run(
        "kubectl",
        "--kubeconfig",
        kube.kubeconfig,
        "get",
        "deployments,replicasets,pods,services,secrets,pdb,hpa,jobs",
        "-A",
        "-l",
        selector,
        "-o",
        "name",
        timeout=60,
    ).stdout.split()
    workspace.close()
    assert left == [], "the test left objects on the cluster"
