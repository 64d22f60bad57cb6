"""The AKS deployment config: v1's parameters and defaults, v1's rules (one line each), and
the `computeType: "AKS"` deploymentconfig.json form read and written without loss."""

from __future__ import annotations

import dataclasses
import inspect
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from modelport.configs import ConfigWarning, DeploymentConfig
from modelport.core.webservice import AksWebservice, KubernetesWebservice
from modelport.errors import InvalidArgument

# v1's AksWebservice.deploy_configuration, in order (azureml-core 1.x).
V1_PARAMETERS = [
    "autoscale_enabled",
    "autoscale_min_replicas",
    "autoscale_max_replicas",
    "autoscale_refresh_seconds",
    "autoscale_target_utilization",
    "collect_model_data",
    "auth_enabled",
    "cpu_cores",
    "memory_gb",
    "enable_app_insights",
    "scoring_timeout_ms",
    "replica_max_concurrent_requests",
    "max_request_wait_time",
    "num_replicas",
    "primary_key",
    "secondary_key",
    "tags",
    "properties",
    "description",
    "gpu_cores",
    "period_seconds",
    "initial_delay_seconds",
    "timeout_seconds",
    "success_threshold",
    "failure_threshold",
    "namespace",
    "token_auth_enabled",
    "compute_target_name",
    "cpu_cores_limit",
    "memory_gb_limit",
    "blobfuse_enabled",
]

AUTOSCALED: dict[str, Any] = {
    "autoscale_enabled": True,
    "autoscale_min_replicas": 2,
    "autoscale_max_replicas": 5,
    "autoscale_refresh_seconds": 3,
    "autoscale_target_utilization": 55,
    "collect_model_data": True,
    "cpu_cores": 0.5,
    "memory_gb": 1.5,
    "cpu_cores_limit": 1.0,
    "memory_gb_limit": 2.0,
    "scoring_timeout_ms": 5000,
    "replica_max_concurrent_requests": 4,
    "max_request_wait_time": 700,
    "tags": {"team": "ml"},
    "description": "every AKS field",
    "period_seconds": 7,
    "initial_delay_seconds": 11,
    "timeout_seconds": 3,
    "success_threshold": 2,
    "failure_threshold": 6,
    "namespace": "scoring-prod",
    "token_auth_enabled": True,
    "auth_enabled": False,
    "compute_target_name": "aks-1",
}


def test_the_parameters_are_v1s_in_v1s_order() -> None:
    names = list(inspect.signature(AksWebservice.deploy_configuration).parameters)
    assert names[: len(V1_PARAMETERS)] == V1_PARAMETERS
    assert names[len(V1_PARAMETERS) :] == ["environment_variables"]  # modelport's, last
    assert AksWebservice is KubernetesWebservice


def test_v1_defaults_key_auth_and_autoscaling() -> None:
    config = AksWebservice.deploy_configuration()
    assert (config.compute_type, config.auth_enabled, config.token_auth_enabled) == (
        "kubernetes",
        True,
        False,
    )
    assert config.scoring_timeout_ms == 60_000
    assert config.num_replicas is None and config.autoscale_enabled is None
    applied = config.with_kubernetes_defaults()
    assert (applied.autoscale_enabled, applied.autoscale_min_replicas) == (True, 1)
    assert (applied.autoscale_max_replicas, applied.autoscale_refresh_seconds) == (10, 1)
    assert applied.autoscale_target_utilization == 70
    assert (applied.cpu_cores, applied.memory_gb) == (0.1, 0.5)
    probe = (
        applied.period_seconds,
        applied.initial_delay_seconds,
        applied.timeout_seconds,
        applied.success_threshold,
        applied.failure_threshold,
    )
    assert probe == (10, 310, 2, 1, 3)
    fixed = AksWebservice.deploy_configuration(num_replicas=3).with_kubernetes_defaults()
    assert (fixed.autoscale_enabled, fixed.num_replicas, fixed.autoscale_max_replicas) == (
        False,
        3,
        None,
    )
    # token auth without auth_enabled turns key auth off, as v1's service does
    token = AksWebservice.deploy_configuration(token_auth_enabled=True)
    assert (token.auth_enabled, token.token_auth_enabled) == (False, True)


def test_every_aks_field_round_trips_sdk_config_file_config(tmp_path: Path) -> None:
    for settings in (AUTOSCALED, {**AUTOSCALED, **_fixed_replicas()}):
        config = AksWebservice.deploy_configuration(**settings)
        again = DeploymentConfig.from_file(config.write(tmp_path / "dc.json"))
        assert again == config
        assert DeploymentConfig.from_dict(config.to_dict()) == dataclasses.replace(
            config, primary_key=None, secondary_key=None
        )
    written = json.loads((tmp_path / "dc.json").read_text())
    assert written["computeType"] == "kubernetes" and written["numReplicas"] == 4
    assert written["containerResourceRequirements"] == {
        "cpu": 0.5,
        "memoryInGB": 1.5,
        "cpuLimit": 1.0,
        "memoryInGBLimit": 2.0,
    }
    assert written["livenessProbeRequirements"]["initialDelaySeconds"] == 11
    assert written["dataCollection"] == {"storageEnabled": True}
    assert written["computeTargetName"] == "aks-1" and written["namespace"] == "scoring-prod"


def _fixed_replicas() -> dict[str, Any]:
    return {
        "autoscale_enabled": False,
        "autoscale_min_replicas": None,
        "autoscale_max_replicas": None,
        "autoscale_refresh_seconds": None,
        "autoscale_target_utilization": None,
        "num_replicas": 4,
    }


def test_keys_are_read_from_a_file_but_never_written(tmp_path: Path) -> None:
    config = AksWebservice.deploy_configuration(primary_key="p" * 20, secondary_key="s" * 20)
    written = config.write(tmp_path / "dc.json").read_text()
    assert "p" * 20 not in written and "keys" not in json.loads(written)
    path = _write(
        tmp_path / "keys.json",
        {"computeType": "AKS", "keys": {"primaryKey": "a" * 20, "secondaryKey": "b" * 20}},
    )
    read = DeploymentConfig.from_file(path)
    assert (read.primary_key, read.secondary_key) == ("a" * 20, "b" * 20)


def test_the_v1_documentation_example_reads(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "deploymentconfig.json",
        {
            "computeType": "aks",
            "autoScaler": {
                "autoscaleEnabled": True,
                "minReplicas": 1,
                "maxReplicas": 3,
                "refreshPeriodInSeconds": 1,
                "targetUtilization": 70,
            },
            "dataCollection": {"storageEnabled": True},
            "authEnabled": True,
            "containerResourceRequirements": {"cpu": 0.5, "memoryInGB": 1.0},
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every key is known: nothing to warn about
        config = DeploymentConfig.from_file(path)
    assert config.compute_type == "kubernetes"
    assert (config.autoscale_enabled, config.autoscale_max_replicas) == (True, 3)
    assert config.collect_model_data and config.auth_enabled
    assert (config.cpu_cores, config.memory_gb) == (0.5, 1.0)


def test_an_aks_file_without_auth_keys_uses_key_auth_as_v1(tmp_path: Path) -> None:
    plain = DeploymentConfig.from_file(_write(tmp_path / "a.json", {"computeType": "AKS"}))
    assert plain.auth_enabled and not plain.token_auth_enabled
    token = DeploymentConfig.from_file(
        _write(tmp_path / "b.json", {"computeType": "AKS", "tokenAuthEnabled": True})
    )
    assert (token.auth_enabled, token.token_auth_enabled) == (False, True)
    local = DeploymentConfig.from_file(_write(tmp_path / "c.json", {"computeType": "local"}))
    assert not local.auth_enabled


def test_azure_only_settings_warn_once_naming_them_and_round_trip(tmp_path: Path) -> None:
    with pytest.warns(ConfigWarning) as caught:
        config = AksWebservice.deploy_configuration(
            enable_app_insights=True, gpu_cores=1, blobfuse_enabled=True, properties={"a": "b"}
        )
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "\n" not in message
    for name, why in (
        ("enable_app_insights", "Application Insights"),
        ("gpu_cores", "GPU"),
        ("blobfuse_enabled", "blob storage"),
        ("properties", "properties are not stored"),
    ):
        assert name in message and why in message
    with pytest.warns(ConfigWarning, match="appInsightsEnabled|enable_app_insights"):
        again = DeploymentConfig.from_file(config.write(tmp_path / "dc.json"))
    written = json.loads((tmp_path / "dc.json").read_text())
    assert (written["appInsightsEnabled"], written["gpuCores"]) == (True, 1)
    assert again.extra["enable_app_insights"] is True and again.extra["gpu_cores"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AksWebservice.deploy_configuration(enable_app_insights=False, gpu_cores=0)


BAD_SETTINGS: list[tuple[dict[str, Any], str]] = [
    (
        {"autoscale_enabled": True, "num_replicas": 2},
        "num_replicas=2 cannot be combined with autoscale_enabled=True",
    ),
    ({"autoscale_enabled": False}, "autoscale_enabled=False needs num_replicas"),
    (
        {"autoscale_min_replicas": 2},
        "autoscale_min_replicas given without autoscale_enabled=True",
    ),
    (
        {"autoscale_enabled": True, "autoscale_min_replicas": 5, "autoscale_max_replicas": 2},
        "autoscale_min_replicas=5 is greater than autoscale_max_replicas=2",
    ),
    (
        {"cpu_cores": 2, "cpu_cores_limit": 1},
        "cpu_cores_limit=1 is below cpu_cores=2",
    ),
    ({"cpu_cores_limit": 0.05}, "cpu_cores_limit=0.05 is below the default cpu_cores=0.1"),
    ({"memory_gb": 2, "memory_gb_limit": 1}, "memory_gb_limit=1 is below memory_gb=2"),
    ({"namespace": "Prod_NS"}, "namespace='Prod_NS' is not a Kubernetes namespace"),
    ({"namespace": "-a"}, "namespace='-a' is not a Kubernetes namespace"),
    ({"namespace": "a" * 64}, "is not a Kubernetes namespace"),
    (
        {"autoscale_enabled": True, "autoscale_target_utilization": 0},
        "autoscale_target_utilization=0 is not valid: must be an integer from 1 to 100",
    ),
    (
        {"autoscale_enabled": True, "autoscale_target_utilization": 101},
        "autoscale_target_utilization=101 is not valid: must be an integer from 1 to 100",
    ),
    ({"num_replicas": 0}, "num_replicas=0 is not valid: must be an integer of at least 1"),
    ({"num_replicas": -1}, "num_replicas=-1 is not valid"),
    (
        {"autoscale_enabled": True, "autoscale_max_replicas": 0},
        "autoscale_max_replicas=0 is not valid",
    ),
    (
        {"autoscale_enabled": True, "autoscale_refresh_seconds": 0},
        "autoscale_refresh_seconds=0 is not valid",
    ),
    ({"cpu_cores": 0}, "cpu_cores=0 is not valid: must be a positive number"),
    ({"memory_gb_limit": -1}, "memory_gb_limit=-1 is not valid: must be a positive number"),
    ({"period_seconds": 0}, "period_seconds=0 is not valid: must be an integer of at least 1"),
    ({"initial_delay_seconds": 0}, "initial_delay_seconds=0 is not valid"),
    ({"timeout_seconds": -2}, "timeout_seconds=-2 is not valid"),
    ({"success_threshold": 0}, "success_threshold=0 is not valid"),
    ({"failure_threshold": 0}, "failure_threshold=0 is not valid"),
    ({"replica_max_concurrent_requests": 0}, "replica_max_concurrent_requests=0 is not valid"),
    ({"compute_target_name": ""}, "compute_target_name='' is not valid"),
    ({"auth_enabled": True, "token_auth_enabled": True}, "auth_enabled and token_auth_enabled"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_SETTINGS)
def test_each_v1_rule_is_one_clear_line(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        AksWebservice.deploy_configuration(**kwargs)
    assert message in caught.value.message
    assert "\n" not in str(caught.value)
    assert "is not valid" in message or caught.value.hint  # a rule says where to read more


BAD_FILES: list[tuple[dict[str, Any], str]] = [
    (
        {"autoScaler": {"autoscaleEnabled": True}, "numReplicas": 2},
        "num_replicas=2 cannot be combined with autoscale_enabled=True",
    ),
    (
        {"autoScaler": {"autoscaleEnabled": True, "minReplicas": 4, "maxReplicas": 1}},
        "autoscale_min_replicas=4 is greater than autoscale_max_replicas=1",
    ),
    (
        {"autoScaler": {"targetUtilization": 150}},
        "autoScaler.targetUtilization=150 is not valid: must be an integer from 1 to 100",
    ),
    ({"namespace": "UPPER"}, "namespace='UPPER' is not a Kubernetes namespace"),
    (
        {"containerResourceRequirements": {"cpu": 1, "cpuLimit": 0.5}},
        "cpu_cores_limit=0.5 is below cpu_cores=1",
    ),
    (
        {"livenessProbeRequirements": {"periodSeconds": 0}},
        "livenessProbeRequirements.periodSeconds=0 is not valid",
    ),
    ({"numReplicas": "two"}, "numReplicas='two' is not valid"),
    ({"dataCollection": {"storageEnabled": "yes"}}, "dataCollection.storageEnabled='yes'"),
    ({"gpuCores": -1}, "gpuCores=-1 is not valid"),
    ({"autoScaler": [1]}, "autoScaler=[1] is not valid: must be an object with autoscaleEnabled"),
]


@pytest.mark.parametrize(("data", "message"), BAD_FILES)
def test_files_are_checked_the_same_way(tmp_path: Path, data: dict[str, Any], message: str) -> None:
    path = _write(tmp_path / "dc.json", {"computeType": "AKS", **data})
    with pytest.raises(InvalidArgument) as caught:
        DeploymentConfig.from_file(path)
    assert str(caught.value.message).startswith(f"{path}: ")
    assert message in caught.value.message
    assert "\n" not in str(caught.value)


def test_null_values_in_a_file_mean_the_default(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "dc.json",
        {
            "computeType": "AKS",
            "numReplicas": None,
            "autoScaler": {"autoscaleEnabled": None, "minReplicas": None},
            "dataCollection": {"storageEnabled": None},
        },
    )
    assert DeploymentConfig.from_file(path) == AksWebservice.deploy_configuration()


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path
