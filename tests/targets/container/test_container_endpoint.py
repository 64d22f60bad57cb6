"""An endpoint whose versions are containers on a real Podman engine, behind the local router:
the split reaches both, the router names the version, deleting the endpoint leaves nothing."""

from __future__ import annotations

import collections

import httpx
import pytest

from modelport.core import InferenceConfig, Model, Workspace
from modelport.core.endpoint import Endpoint
from tests.targets.container.conftest import Engine

pytestmark = [pytest.mark.containers, pytest.mark.slow]
REQUEST = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}


def test_an_endpoint_of_container_versions(
    cws: Workspace, seed_model: Model, seed_config: InferenceConfig, engine: Engine
) -> None:
    config = Endpoint.deploy_configuration(
        version_name="a", compute_type="container", auth_enabled=True, memory_gb=1
    )
    endpoint = Model.deploy(cws, "boxes", [seed_model], seed_config, config)
    assert isinstance(endpoint, Endpoint)
    try:
        endpoint.wait_for_deployment()
        endpoint.create_version("b", traffic_percentile=50)
        assert {v.compute_type for v in endpoint.versions.values()} == {"container"}
        auth = {"Authorization": f"Bearer {endpoint.get_keys()[0]}"}
        seen: collections.Counter[str] = collections.Counter()
        with httpx.Client(headers=auth, timeout=60) as client:
            for _ in range(100):
                r = client.post(endpoint.scoring_uri, json=REQUEST)
                assert r.status_code == 200 and len(r.json()) == 1
                seen[r.headers["x-modelport-version"]] += 1
        assert set(seen) == {"a", "b"}, seen
        assert httpx.post(endpoint.scoring_uri, json=REQUEST).status_code == 401
    finally:
        endpoint.delete()
    label = "org.modelport.service"
    left = [
        c.name
        for c in engine.client.containers.list(all=True, filters={"label": label})
        if c.labels.get(label) in ("boxes-a", "boxes-b")
    ]
    assert left == []
