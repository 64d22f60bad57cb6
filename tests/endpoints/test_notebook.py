"""The published v1 rollout notebook (deploy-aks-with-controlled-rollout), with only the
imports changed, runs as written: the cluster-only keywords are accepted with a warning."""

from __future__ import annotations

import json

import pytest

from modelport.core import Model, Workspace
from modelport.core.webservice import AksEndpoint
from tests.endpoints.conftest import echo_config


def test_the_rollout_notebook(ews: Workspace, tiny: Model) -> None:
    ws, model, inference_config = ews, tiny, echo_config()
    endpoint_name = "mynewendpoint"
    version_name = "versiona"
    with pytest.warns(UserWarning, match="enable_app_insights"):
        endpoint_deployment_config = AksEndpoint.deploy_configuration(
            cpu_cores=0.1,
            memory_gb=0.2,
            enable_app_insights=True,
            tags={"sckitlearn": "demo"},
            description="testing versions",
            version_name=version_name,
            traffic_percentile=20,
        )
    endpoint = Model.deploy(
        ws, endpoint_name, [model], inference_config, endpoint_deployment_config
    )
    endpoint.wait_for_deployment(True)
    assert endpoint.state == "Healthy"
    assert json.loads(json.dumps(endpoint.run(json.dumps("hello"))))["echo"] == '"hello"'

    version_name_add = "versionb"
    endpoint.create_version(
        version_name=version_name_add,
        inference_config=inference_config,
        models=[model],
        tags={"modelVersion": "b"},
        description="my second version",
        traffic_percentile=10,
    )
    endpoint.wait_for_deployment(True)
    assert {n: v.traffic_percentile for n, v in endpoint.versions.items()} == {
        "versiona": 90,
        "versionb": 10,
    }

    endpoint.update_version(
        version_name=endpoint.versions[version_name_add].name,
        description="my second version update",
        traffic_percentile=40,
        is_default=True,
        is_control_version_type=True,
    )
    endpoint.wait_for_deployment(True)
    versions = endpoint.versions
    # versionb is the default now and takes what versiona's own 20% leaves
    assert (versions["versionb"].is_default, versions["versionb"].is_control_version) == (
        True,
        True,
    )
    assert {n: v.traffic_percentile for n, v in versions.items()} == {
        "versiona": 20,
        "versionb": 80,
    }
    assert versions["versionb"].description == "my second version update"

    endpoint.delete_version(version_name=version_name)
    endpoint.wait_for_deployment(True)
    assert list(endpoint.versions) == ["versionb"]
    endpoint.delete()
    assert AksEndpoint.list(ws) == []
