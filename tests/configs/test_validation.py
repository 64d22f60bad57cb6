"""Every inference and deployment config (file, SDK argument, CLI) passes one schema: a bad
value is one line naming the field as written, the value and what is allowed; exit code 2;
nothing is created."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from modelport.configs import DeploymentConfig, InferenceConfig
from modelport.core.webservice import AciWebservice, AksWebservice, LocalWebservice
from modelport.core.workspace import Workspace
from modelport.errors import InvalidArgument
from tests.conftest import run_cli

ECHO = Path(__file__).parents[1] / "deploy" / "scripts" / "echo.py"
RANGE = "must be an integer from 1 to 65535"

BAD_DEPLOYMENT_FILES: list[tuple[dict[str, Any], str]] = [
    ({"computeType": "local", "port": "abc"}, f"port='abc' is not valid: {RANGE}"),
    ({"port": 1.5}, f"port=1.5 is not valid: {RANGE}"),
    ({"port": True}, f"port=True is not valid: {RANGE}"),
    ({"port": 0}, f"port=0 is not valid: {RANGE}"),
    ({"port": 70000}, f"port=70000 is not valid: {RANGE}"),
    ({"workers": "two"}, "workers='two' is not valid: must be an integer of at least 1"),
    ({"workers": 0}, "workers=0 is not valid: must be an integer of at least 1"),
    (
        {"containerResourceRequirements": {"cpu": "lots"}},
        "containerResourceRequirements.cpu='lots' is not valid: must be a positive number",
    ),
    (
        {"containerResourceRequirements": {"cpu": 1, "memoryInGB": -1}},
        "containerResourceRequirements.memoryInGB=-1 is not valid: must be a positive number",
    ),
    (
        {"containerResourceRequirements": [1]},
        "containerResourceRequirements=[1] is not valid: must be an object with cpu, memoryInGB",
    ),
    ({"scoringTimeoutMs": "fast"}, "scoringTimeoutMs='fast' is not valid: must be a positive"),
    ({"scoringTimeoutMs": 0}, "scoringTimeoutMs=0 is not valid: must be a positive integer"),
    (
        {"maxConcurrentRequestsPerContainer": 0},
        "maxConcurrentRequestsPerContainer=0 is not valid: must be an integer of at least 1",
    ),
    ({"maxQueueWaitMs": -1}, "maxQueueWaitMs=-1 is not valid: must be an integer of at least 0"),
    (
        {"maxRequestBodyBytes": "1MB"},
        "maxRequestBodyBytes='1MB' is not valid: must be a positive integer",
    ),
    ({"authEnabled": "yes"}, "authEnabled='yes' is not valid: must be true or false"),
    ({"tokenAuthEnabled": 1}, "tokenAuthEnabled=1 is not valid: must be true or false"),
    ({"host": ""}, "host='' is not valid: must be a non-empty string"),
    ({"computeType": 5}, "computeType=5 is not valid: must be a non-empty string"),
    ({"tags": {"a": 1}}, "tags={'a': 1} is not valid: must be an object of string values"),
    (
        {"environmentVariables": ["A=1"]},
        "environmentVariables=['A=1'] is not valid: must be an object of string values",
    ),
    ({"description": 3}, "description=3 is not valid: must be a string"),
    (
        {"authEnabled": True, "tokenAuthEnabled": True},
        "authEnabled and tokenAuthEnabled cannot both be true. Pick key auth or token auth",
    ),
    (
        {"port": "x", "workers": 0},
        f"port='x' is not valid: {RANGE}; workers=0 is not valid: must be an integer of at least 1",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_DEPLOYMENT_FILES)
def test_a_bad_deployment_config_file_names_file_key_value_and_rule(
    tmp_path: Path, data: dict[str, Any], message: str
) -> None:
    path = tmp_path / "deploymentconfig.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidArgument) as caught:
        DeploymentConfig.from_file(path)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert str(caught.value).endswith(".")
    assert "\n" not in str(caught.value)


BAD_INFERENCE_FILES: list[tuple[dict[str, Any], str]] = [
    ({"entryScript": 5}, "entryScript=5 is not valid: must be a string."),
    ({"entryScript": ["score.py"]}, "entryScript=['score.py'] is not valid: must be a string."),
    ({"entryScript": "echo.py", "sourceDirectory": 1}, "sourceDirectory=1 is not valid"),
    ({"entryScript": "echo.py", "enableGpu": "no"}, "enableGpu='no' is not valid: must be true"),
    ({"entryScript": "echo.py", "condaFile": {}}, "condaFile={} is not valid: must be a string."),
    (
        {"entryScript": "echo.py", "environment": 5},
        "environment=5 is not valid: must be a non-empty string or an object with name",
    ),
    (
        {"entryScript": "echo.py", "environment": {"python": 5}},
        "environment.python=5 is not valid: must be an object with condaDependenciesFile.",
    ),
    (
        {"entryScript": "echo.py", "environment": {"python": {"condaDependenciesFile": 3}}},
        "environment.python.condaDependenciesFile=3 is not valid: must be a non-empty string.",
    ),
    (
        {"entryScript": "echo.py", "environment": {"environmentVariables": {"A": 1}}},
        "environment.environmentVariables={'A': 1} is not valid: must be an object of string",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_INFERENCE_FILES)
def test_a_bad_inference_config_file_names_file_key_value_and_rule(
    tmp_path: Path, data: dict[str, Any], message: str
) -> None:
    (tmp_path / "echo.py").write_text(ECHO.read_text())
    path = tmp_path / "inferenceconfig.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidArgument) as caught:
        InferenceConfig.from_file(path)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "\n" not in str(caught.value)


BAD_SDK_ARGUMENTS: list[tuple[Any, dict[str, Any], str]] = [
    (LocalWebservice, {"port": "abc"}, f"port='abc' is not valid: {RANGE}."),
    (LocalWebservice, {"port": 1.5}, f"port=1.5 is not valid: {RANGE}."),
    (LocalWebservice, {"port": False}, f"port=False is not valid: {RANGE}."),
    (LocalWebservice, {"workers": "two"}, "workers='two' is not valid: must be an integer"),
    (LocalWebservice, {"cpu_cores": "lots"}, "cpu_cores='lots' is not valid: must be a positive"),
    (LocalWebservice, {"memory_gb": 0}, "memory_gb=0 is not valid: must be a positive number."),
    (LocalWebservice, {"scoring_timeout_ms": "fast"}, "scoring_timeout_ms='fast' is not valid"),
    (LocalWebservice, {"host": 127}, "host=127 is not valid: must be a non-empty string."),
    (LocalWebservice, {"auth_enabled": "yes"}, "auth_enabled='yes' is not valid: must be true"),
    (LocalWebservice, {"tags": {"a": 1}}, "tags={'a': 1} is not valid: must be an object"),
    (LocalWebservice, {"tags": [1]}, "tags=[1] is not valid: must be an object of string values"),
    (LocalWebservice, {"environment_variables": {"A": 1}}, "environment_variables={'A': 1} is"),
    (AciWebservice, {"cpu_cores": -1}, "cpu_cores=-1 is not valid: must be a positive number."),
    (AciWebservice, {"primary_key": ""}, "primary_key='' is not valid: must be a non-empty"),
    (AksWebservice, {"scoring_timeout_ms": 0}, "scoring_timeout_ms=0 is not valid"),
    (AksWebservice, {"memory_gb": "2GB"}, "memory_gb='2GB' is not valid: must be a positive"),
]


@pytest.mark.parametrize(("cls", "kwargs", "message"), BAD_SDK_ARGUMENTS)
def test_a_bad_sdk_argument_names_the_argument(
    cls: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        cls.deploy_configuration(**kwargs)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_replace_from_dict_and_inference_config_are_validated_too() -> None:
    good = LocalWebservice.deploy_configuration(port=8890)
    with pytest.raises(InvalidArgument, match=r"^port='x' is not valid"):
        dataclasses.replace(good, port="x")
    with pytest.raises(InvalidArgument, match=r"^workers=1.5 is not valid"):
        DeploymentConfig.from_dict({**good.to_dict(), "workers": 1.5})
    with pytest.raises(InvalidArgument, match=r"^entry_script=5 is not valid: must be a string\.$"):
        InferenceConfig(entry_script=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"^environment='env' is not valid: must be an Env"):
        InferenceConfig(entry_script=str(ECHO), environment="env")  # type: ignore[arg-type]


def test_good_configs_still_read_and_round_trip(tmp_path: Path) -> None:
    config = DeploymentConfig.from_file(
        _write(
            tmp_path / "dc.json",
            {
                "computeType": "ACI",
                "port": 8890,
                "containerResourceRequirements": {"cpu": 1, "memoryInGB": 0.5, "gpu": 0},
                "environmentVariables": {"A": "1"},
                "authEnabled": True,
                "maxQueueWaitMs": 0,
                "numReplicas": 2,
            },
        )
    )
    assert (config.compute_type, config.port, config.cpu_cores, config.memory_gb) == (
        "container",
        8890,
        1,
        0.5,
    )
    again = DeploymentConfig.from_file(config.write(tmp_path / "again.json"))
    assert again.port == 8890 and again.auth_enabled and again.cpu_cores == 1
    assert dataclasses.replace(config, port=None).port is None
    assert DeploymentConfig.from_dict(config.to_dict()).environment_variables == {"A": "1"}
    assert InferenceConfig(entry_script=ECHO).entry_script == str(ECHO)  # type: ignore[arg-type]


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


# -- the CLI: one line, exit 2, nothing created -------------------------------------------------
CLI_CASES = [
    ({"computeType": "local", "port": "abc"}, f"port='abc' is not valid: {RANGE}."),
    ({"computeType": "local", "port": 1.5}, f"port=1.5 is not valid: {RANGE}."),
    ({"workers": "two"}, "workers='two' is not valid: must be an integer of at least 1."),
    ({"containerResourceRequirements": {"cpu": "lots"}}, "containerResourceRequirements.cpu="),
    ({"containerResourceRequirements": [1]}, "containerResourceRequirements=[1] is not valid"),
    ({"scoringTimeoutMs": "fast"}, "scoringTimeoutMs='fast' is not valid: must be a positive"),
]


@pytest.mark.parametrize(("data", "message"), CLI_CASES)
def test_the_cli_rejects_a_bad_deployment_config_before_creating_anything(
    service_ws: Workspace, tmp_path: Path, data: dict[str, Any], message: str
) -> None:
    (tmp_path / "echo.py").write_text(ECHO.read_text())
    ic = _write(tmp_path / "inferenceconfig.json", {"entryScript": "echo.py"})
    dc = _write(tmp_path / "deploymentconfig.json", data)
    done = _deploy_cli(service_ws, ic, dc)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {dc}: {message}"), done.stderr
    _assert_nothing_created(service_ws)


def test_the_cli_rejects_a_bad_inference_config_before_creating_anything(
    service_ws: Workspace, tmp_path: Path
) -> None:
    ic = _write(tmp_path / "inferenceconfig.json", {"entryScript": 5})
    done = _deploy_cli(service_ws, ic, None)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"error: {ic}: entryScript=5 is not valid: must be a string."
    ]
    _assert_nothing_created(service_ws)


def _deploy_cli(ws: Workspace, ic: Path, dc: Path | None) -> Any:
    args = ["model", "deploy", "-w", str(ws.path), "-n", "badsvc", "--ic", str(ic)]
    return run_cli(*args, *(["--dc", str(dc)] if dc else []))


def _assert_nothing_created(ws: Workspace) -> None:
    assert ws.store.list_documents("service") == []
    assert not (ws.path / "services" / "badsvc").exists()
