"""An endpoint whose versions run on the test cluster, its router a Deployment there: a
split that scores, header targeting, key auth, weights changed and a version removed under a
steady request loop with no failed request, and delete leaving no object with its labels."""

from __future__ import annotations

import collections
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.core import Environment, InferenceConfig, Model, Workspace
from modelport.core.compute import ComputeTarget
from modelport.core.endpoint import Endpoint
from modelport.core.webservice import AksEndpoint
from modelport.packaging.engine import workspace_key
from tests.targets.container.test_container_service import Load
from tests.targets.kubernetes.conftest import Kube

pytestmark = [
    pytest.mark.kubernetes,
    pytest.mark.containers,
    pytest.mark.slow,
    pytest.mark.timeout(1500),
]
ECHO = Path(__file__).parents[2] / "endpoints" / "scripts" / "echo.py"
HEADER = "x-modelport-version"


def _objects(kube: Kube, selector: str) -> list[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", kube.kubeconfig, "get",
         "deployments,replicasets,pods,services,secrets", "-A", "-l", selector, "-o", "name"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip


class AuthLoad(Load):
    """The container tests' steady loop, with the endpoint's key."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(url)
        self.headers = {"Authorization": f"Bearer {key}"}

    def _send(self, keep_alive: bool) -> None:
        with httpx.Client(timeout=60, headers=self.headers) as client:
            while not self.stop.is_set():
                try:
                    response = client.post(self.url, content=b'"ping"')
                    if response.status_code != 200:
                        self.failures.append(f"{response.status_code}: {response.text}")
                    else:
                        self.answers.append(response.headers[HEADER])
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))


def deploy_echo(
    ws: Workspace, env: Environment, name: str, compute: str, **config: Any
) -> Endpoint:
    """An endpoint of the echo script on `compute`, its first version "v1" (small pods)."""
    dc = AksEndpoint.deploy_configuration(
        version_name="v1", memory_gb=0.25, workers=1, **{"cpu_cores": 0.05, **config}
    )
    inference = InferenceConfig(entry_script=str(ECHO), environment=env)
    endpoint = Model.deploy(
        ws, name, [], inference, dc, deployment_target=ComputeTarget(ws, compute)
    )
    assert isinstance(endpoint, Endpoint)
    return endpoint


def test_endpoint_on_kubernetes(kws: Workspace, seed_env: Environment, kube: Kube) -> None:
    key = workspace_key(str(kws.path))
    endpoint = deploy_echo(
        kws, seed_env, "kep", "kube", auth_enabled=True, cpu_cores=0.1,
        environment_variables={"ECHO_REVISION": "1"},
    )  # fmt: skip
    try:
        endpoint.wait_for_deployment()
        assert endpoint.state == "Healthy" and endpoint.compute_type == "kubernetes"
        router = _objects(kube, f"modelport.io/endpoint=kep,modelport.io/workspace={key}")
        assert "deployment.apps/kep-router" in router and "service/kep-router" in router
        primary, _ = endpoint.get_keys()
        auth = {"Authorization": f"Bearer {primary}"}
        assert httpx.post(endpoint.scoring_uri, content=b'"x"', timeout=60).status_code == 401
        answer = httpx.post(endpoint.scoring_uri, content=b'"x"', headers=auth, timeout=60)
        assert (answer.status_code, answer.headers[HEADER]) == (200, "v1")

        endpoint.create_version(
            "v2", traffic_percentile=30, environment_variables={"ECHO_REVISION": "2"}
        )
        assert endpoint.versions["v2"].state == "Healthy"
        counts: collections.Counter[str] = collections.Counter()
        with httpx.Client(headers=auth, timeout=60) as client:
            for version in ("v1", "v2"):  # targeting reaches each version exactly
                for _ in range(10):
                    r = client.post(endpoint.scoring_uri, content=b'"x"', headers={HEADER: version})
                    assert (r.status_code, r.headers[HEADER]) == (200, version)
                    assert r.json()["revision"] == version[1]
            for _ in range(200):
                r = client.post(endpoint.scoring_uri, content=b'"x"')
                assert r.status_code == 200 and r.json()["revision"] == r.headers[HEADER][1]
                counts[r.headers[HEADER]] += 1
        assert 40 <= counts["v2"] <= 80, counts  # 30% of 200, dealt from shuffled decks

        with AuthLoad(endpoint.scoring_uri, primary) as load:
            for share in (70, 0, 50):
                endpoint.update_version("v2", traffic_percentile=share)
                assert endpoint.versions["v2"].traffic_percentile == share
            endpoint.delete_version("v2")
            seen = len(load.answers)
            while len(load.answers) < seen + 20:  # requests keep flowing after the removal
                time.sleep(0.05)
        assert load.failures == [], load.failures[:5]
        assert {"v1", "v2"} <= set(load.answers)
        assert "v2" not in endpoint.versions
        endpoint.regen_key("Primary")  # rejected by the router pod from the next request on
        assert httpx.post(endpoint.scoring_uri, content=b'"x"', headers=auth).status_code == 401
        fresh = {"Authorization": f"Bearer {endpoint.get_keys()[0]}"}
        assert httpx.post(endpoint.scoring_uri, content=b'"x"', headers=fresh).status_code == 200
        assert not _objects(kube, f"modelport.io/service=kep-v2,modelport.io/workspace={key}")
    finally:
        endpoint.delete()
    assert Endpoint.list(kws) == []
    assert _objects(kube, f"modelport.io/workspace={key}") == []
