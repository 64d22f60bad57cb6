"""Inference and deployment configurations, in the SDK form and the Azure CLI's JSON forms.

`InferenceConfig` says what runs (entry script, source folder, environment);
a deployment config says where and how (target, port, auth, workers, limits).
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import types
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from modelport._ignored import unsupported
from modelport.environments import Environment
from modelport.errors import InvalidArgument

# Field types with their bounds. Each config's schema is built from its dataclass annotations
# (so a new field is one annotated line), validated strictly: no "8890" for 8890, no 1.5 for an
# integer, no true for a number.
Port = Annotated[int, Field(ge=1, le=65535)]
AtLeastOne = Annotated[int, Field(ge=1)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveNumber = Annotated[float, Field(gt=0)]
Text = Annotated[str, Field(min_length=1)]
Percent = Annotated[int, Field(ge=1, le=100)]


_PAYLOAD = "it builds a request body for Azure's REST API, which modelport does not have"


class ConfigWarning(UserWarning):
    """A config file held keys modelport does not use."""


@dataclass
class InferenceConfig:
    """What a service runs: `InferenceConfig(entry_script, environment=env, source_directory=…)`.

    The fields and their order are v1's, so positional and older forms
    (`InferenceConfig(runtime="python", entry_script="score.py", conda_file="env.yml")`) port
    unchanged; the Docker-only ones are kept for packaging and ignored by local services.
    """

    entry_script: str | None = None
    runtime: str | None = None
    conda_file: str | None = None
    extra_docker_file_steps: str | None = None
    source_directory: str | None = None
    enable_gpu: bool | None = None
    description: str | None = None
    base_image: str | None = None
    base_image_registry: Any = None
    cuda_version: str | None = None
    environment: Environment | None = None

    def __post_init__(self) -> None:
        for name in _PATH_FIELDS:  # v1 code passes pathlib paths too
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                setattr(self, name, os.fspath(value))
        validate(type(self), _values(self))
        if self.entry_script is None:
            return
        script = self.script_path()
        if not script.is_file():
            raise InvalidArgument(
                f"Entry script {script} does not exist.",
                hint="entry_script is relative to source_directory when one is given.",
            )
        if self.source_directory is not None and not Path(self.source_directory).is_dir():
            raise InvalidArgument(f"source_directory {self.source_directory} is not a folder.")

    def validate_configuration(self) -> None:
        """Check the values again (after edits to the object); raise InvalidArgument."""
        self.__post_init__()

    def validation_script_content(self) -> None:
        """Check that the entry script parses as Python; raise InvalidArgument naming the line."""
        if self.entry_script is None:
            return
        script = self.script_path()
        try:
            ast.parse(script.read_text(encoding="utf-8"), str(script))
        except OSError as exc:
            raise InvalidArgument(f"Entry script {script} cannot be read: {exc}.") from None
        except SyntaxError as exc:
            raise InvalidArgument(
                f"Entry script {script} line {exc.lineno}: {exc.msg}.",
                hint="Fix the script, then deploy it locally to check it.",
            ) from None

    @unsupported(_PAYLOAD, hint="Use Model.deploy / Model.package with this config.")
    def build_create_payload(self, workspace: Any, name: str, model_ids: list[str]) -> Any:
        raise NotImplementedError  # never runs: `unsupported` replaces the body

    @unsupported(_PAYLOAD, hint="Use Model.profile with this config.")
    def build_profile_payload(
        self,
        profile_name: str,
        input_data: Any = None,
        workspace: Any = None,
        models: Any = None,
        dataset_id: str | None = None,
        container_resource_requirements: Any = None,
        description: str | None = None,
    ) -> Any:
        raise NotImplementedError  # never runs: `unsupported` replaces the body

    def script_path(self) -> Path:
        assert self.entry_script is not None
        script = Path(self.entry_script)
        if self.source_directory and not script.is_absolute():
            return Path(self.source_directory) / script
        return script

    def resolve_environment(self) -> Environment:
        """The environment to build: given, from a conda file, or this interpreter."""
        if self.environment is not None:
            return self.environment
        if self.conda_file is not None:
            return Environment.from_conda_specification("inference-env", self.conda_file)
        return Environment.current()

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_script": str(Path(self.entry_script).resolve())
            if self.entry_script and not self.source_directory
            else self.entry_script,
            "source_directory": str(Path(self.source_directory).resolve())
            if self.source_directory
            else None,
            "environment": self.environment.to_dict() if self.environment is not None else None,
            "conda_file": str(Path(self.conda_file).resolve()) if self.conda_file else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InferenceConfig:
        env = data.get("environment")
        return cls(
            entry_script=data.get("entry_script"),
            source_directory=data.get("source_directory"),
            environment=Environment.from_dict(env) if env is not None else None,
            conda_file=data.get("conda_file"),
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], workspace: Any = None) -> InferenceConfig:
        """Read the Azure CLI's `inferenceconfig.json` (paths relative to the file)."""
        data = _read_json(path, "inference config")
        _warn_unknown(path, data, set(_INFERENCE_FILE_KEYS))
        validate_file(path, _inference_file_schema(), data)
        base = Path(path).resolve().parent
        source = data.get("sourceDirectory")
        source_dir = str(base / source) if source else None
        entry = data.get("entryScript")
        if entry and not source_dir:
            entry = str(base / entry)
        conda = data.get("condaFile")
        environment = _environment_from_json(data.get("environment"), base, workspace)
        return cls(
            entry_script=entry,
            source_directory=source_dir,
            environment=environment,
            conda_file=str(base / conda) if conda else None,
            runtime=data.get("runtime"),
            description=data.get("description"),
            extra_docker_file_steps=str(base / steps)
            if (steps := data.get("extraDockerfileSteps"))
            else None,
            base_image=data.get("baseImage") or None,
            enable_gpu=data.get("enableGpu"),
        )


@dataclass
class DeploymentConfig:
    """Where and how a service runs; `compute_type` picks the deployment target."""

    compute_type: Text = "local"
    port: Port | None = None
    host: Text = "127.0.0.1"
    workers: AtLeastOne | None = None
    auth_enabled: bool = False
    token_auth_enabled: bool = False
    scoring_timeout_ms: PositiveInt | None = None
    max_concurrent_requests_per_container: AtLeastOne | None = None
    max_request_wait_time: NonNegativeInt | None = None
    max_request_body_bytes: PositiveInt | None = None
    cpu_cores: PositiveNumber | None = None
    memory_gb: PositiveNumber | None = None
    environment_variables: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    primary_key: Text | None = None
    secondary_key: Text | None = None
    ssl_enabled: bool = False
    ssl_cert_pem_file: Text | None = None
    ssl_key_pem_file: Text | None = None
    ssl_cname: Text | None = None
    # Kubernetes (v1: AKS) fields, v1's names; other targets do not read them. `compute_target`
    # names an attached cluster (modelport.deploy.computes); None: the only one attached.
    compute_target: Text | None = None
    namespace: Text | None = None
    num_replicas: AtLeastOne | None = None
    autoscale_enabled: bool | None = None
    autoscale_min_replicas: AtLeastOne | None = None
    autoscale_max_replicas: AtLeastOne | None = None
    autoscale_refresh_seconds: AtLeastOne | None = None
    autoscale_target_utilization: Percent | None = None
    cpu_cores_limit: PositiveNumber | None = None
    memory_gb_limit: PositiveNumber | None = None
    period_seconds: AtLeastOne | None = None
    initial_delay_seconds: AtLeastOne | None = None
    timeout_seconds: AtLeastOne | None = None
    success_threshold: AtLeastOne | None = None
    failure_threshold: AtLeastOne | None = None
    collect_model_data: bool = False
    # modelport's: environment pins that cannot install on this Python get the nearest
    # release that can (see docs/environments.md); the deploy log lists every change.
    resolve_nearest: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate(type(self), _values(self))  # SDK arguments, from_dict, replace() and files
        if self.ssl_enabled:
            if not self.ssl_cert_pem_file or not self.ssl_key_pem_file:
                raise InvalidArgument(
                    "ssl_enabled needs ssl_cert_pem_file and ssl_key_pem_file.",
                    hint="Pass the PEM certificate and its private key.",
                )
            self.ssl_cert_pem_file = os.path.abspath(self.ssl_cert_pem_file)
            self.ssl_key_pem_file = os.path.abspath(self.ssl_key_pem_file)
        if self.auth_enabled and self.token_auth_enabled:
            raise InvalidArgument(
                "auth_enabled and token_auth_enabled cannot both be on.",
                hint="Pick key auth or token auth.",
            )
        _check_kubernetes(self)

    def with_kubernetes_defaults(self) -> DeploymentConfig:
        """A copy with every unset Kubernetes field at v1's AKS default, as a target applies
        them: autoscaling (1-10 replicas at 70%) unless `num_replicas` is given, 0.1 core and
        0.5 GB requested, the liveness probe every 10 s after 310 s, 2 s timeout, 1/3 tries."""
        values = {n: d for n, d in KUBERNETES_DEFAULTS.items() if getattr(self, n) is None}
        autoscale = self.autoscale_enabled
        if autoscale is None:
            autoscale = self.num_replicas is None
        values["autoscale_enabled"] = autoscale
        if autoscale:
            values.update({n: d for n, d in AUTOSCALE_DEFAULTS.items() if getattr(self, n) is None})
        return replace(self, **values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; never the keys, which live only in the service's owner-only key file."""
        data = asdict(self)
        data.pop("primary_key")
        data.pop("secondary_key")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeploymentConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> DeploymentConfig:
        """Read the Azure CLI's `deploymentconfig.json`."""
        data = _read_json(path, "deployment config")
        known = _deployment_file_schema().model_fields.keys() | _ACCEPTED_EXTRA_KEYS
        for key in data:
            if key not in known:
                warnings.warn(
                    f"{path}: ignoring unknown deployment config key '{key}'.",
                    ConfigWarning,
                    stacklevel=2,
                )
        validate_file(path, _deployment_file_schema(), data)
        if data.get("authEnabled") and data.get("tokenAuthEnabled"):
            raise InvalidArgument(
                f"{path}: authEnabled and tokenAuthEnabled cannot both be true.",
                hint="Pick key auth or token auth.",
            )
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in _DEPLOYMENT_FILE_KEYS:
                values[_DEPLOYMENT_FILE_KEYS[key]] = value
            elif key in _NESTED_FILE_KEYS and value is not None:
                for sub, name in _NESTED_FILE_KEYS[key].items():
                    if value.get(sub) is not None:  # null: the default, as in v1
                        values[name] = value[sub]
        values["compute_type"] = _normalize_compute(values.get("compute_type", "local"))
        base = Path(path).resolve().parent
        for name in ("ssl_cert_pem_file", "ssl_key_pem_file"):  # relative to the file
            if values.get(name):
                values[name] = str(base / values[name])
        if values["compute_type"] == "kubernetes":  # v1's AKS defaults, as the SDK's
            if "authEnabled" not in data:
                values["auth_enabled"] = not values.get("token_auth_enabled")
            if values.get("scoring_timeout_ms") is None:
                values["scoring_timeout_ms"] = KUBERNETES_DEFAULTS["scoring_timeout_ms"]
        extra = {k: v for k, v in data.items() if k in _ACCEPTED_EXTRA_KEYS}
        ignored = {name: data[key] for key, name in _IGNORED_FILE_KEYS.items() if key in data}
        warn_ignored(str(path), ignored, KUBERNETES_IGNORED)
        extra.update({k: v for k, v in ignored.items() if v is not None})
        try:
            return cls(**values, extra=extra)
        except InvalidArgument as exc:
            raise InvalidArgument(f"{path}: {exc.message}", hint=exc.hint) from None

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write this config in the `deploymentconfig.json` form (what `--dc` reads)."""
        data: dict[str, Any] = {"computeType": self.compute_type}
        if self.port is not None:
            data["port"] = self.port
        data["authEnabled"] = self.auth_enabled
        data["tokenAuthEnabled"] = self.token_auth_enabled
        for key, names in _NESTED_FILE_KEYS.items():
            if key == "keys":
                continue  # keys live only in the service's owner-only key file
            section = {
                sub: getattr(self, n) for sub, n in names.items() if getattr(self, n) is not None
            }
            if section and section != {"storageEnabled": False}:
                data[key] = section
        for key, attr in (
            ("workers", "workers"),
            ("scoringTimeoutMs", "scoring_timeout_ms"),
            ("maxConcurrentRequestsPerContainer", "max_concurrent_requests_per_container"),
            ("maxRequestBodyBytes", "max_request_body_bytes"),
            ("maxQueueWaitMs", "max_request_wait_time"),
            ("numReplicas", "num_replicas"),
            ("namespace", "namespace"),
            ("computeTargetName", "compute_target"),
            ("description", "description"),
        ):
            if getattr(self, attr) is not None:
                data[key] = getattr(self, attr)
        if self.resolve_nearest:
            data["resolveNearest"] = True
        if self.ssl_enabled:
            data["sslEnabled"] = True
            data["sslCertificate"] = self.ssl_cert_pem_file
            data["sslKey"] = self.ssl_key_pem_file
            if self.ssl_cname:
                data["cname"] = self.ssl_cname
        if self.tags:
            data["tags"] = dict(self.tags)
        if self.environment_variables:
            data["environmentVariables"] = dict(self.environment_variables)
        for key, name in _IGNORED_FILE_KEYS.items():
            if self.extra.get(name) is not None:
                data[key] = self.extra[name]
        target = Path(path)
        target.write_text(json.dumps(data, indent=2) + "\n")
        return target


# deploymentconfig.json key -> DeploymentConfig field (containerResourceRequirements apart).
_DEPLOYMENT_FILE_KEYS = {
    "computeType": "compute_type",
    "resolveNearest": "resolve_nearest",  # modelport's (docs/environments.md)
    "port": "port",
    "authEnabled": "auth_enabled",
    "tokenAuthEnabled": "token_auth_enabled",
    "scoringTimeoutMs": "scoring_timeout_ms",
    "maxConcurrentRequestsPerContainer": "max_concurrent_requests_per_container",
    "maxQueueWaitMs": "max_request_wait_time",
    "maxRequestBodyBytes": "max_request_body_bytes",
    "workers": "workers",
    "host": "host",
    "environmentVariables": "environment_variables",
    "description": "description",
    "tags": "tags",
    "sslEnabled": "ssl_enabled",
    "sslCertificate": "ssl_cert_pem_file",
    "sslKey": "ssl_key_pem_file",
    "cname": "ssl_cname",
    "numReplicas": "num_replicas",
    "namespace": "namespace",
    "computeTargetName": "compute_target",
}
# deploymentconfig.json objects -> {key inside: DeploymentConfig field} (v1's AKS names).
_NESTED_FILE_KEYS = {
    "containerResourceRequirements": {
        "cpu": "cpu_cores",
        "memoryInGB": "memory_gb",
        "cpuLimit": "cpu_cores_limit",
        "memoryInGBLimit": "memory_gb_limit",
    },
    "autoScaler": {
        "autoscaleEnabled": "autoscale_enabled",
        "minReplicas": "autoscale_min_replicas",
        "maxReplicas": "autoscale_max_replicas",
        "refreshPeriodInSeconds": "autoscale_refresh_seconds",
        "targetUtilization": "autoscale_target_utilization",
    },
    "livenessProbeRequirements": {
        "periodSeconds": "period_seconds",
        "initialDelaySeconds": "initial_delay_seconds",
        "timeoutSeconds": "timeout_seconds",
        "successThreshold": "success_threshold",
        "failureThreshold": "failure_threshold",
    },
    "dataCollection": {"storageEnabled": "collect_model_data"},
    "keys": {"primaryKey": "primary_key", "secondaryKey": "secondary_key"},
}
# deploymentconfig.json keys accepted with a warning (KUBERNETES_IGNORED says why), kept in
# `extra` under the SDK's names so that `write` gives them back.
_IGNORED_FILE_KEYS = {"appInsightsEnabled": "enable_app_insights", "gpuCores": "gpu_cores"}

# inferenceconfig.json key -> InferenceConfig field (environment apart: a name or an object).
_INFERENCE_FILE_KEYS = {
    "entryScript": "entry_script",
    "sourceDirectory": "source_directory",
    "condaFile": "conda_file",
    "runtime": "runtime",
    "description": "description",
    "extraDockerfileSteps": "extra_docker_file_steps",
    "baseImage": "base_image",
    "enableGpu": "enable_gpu",
    "environment": "environment",
}
_PATH_FIELDS = ("entry_script", "source_directory", "conda_file", "extra_docker_file_steps")

# Keys of Azure deployment configs that only matter on cloud targets: kept, not warned about.
_ACCEPTED_EXTRA_KEYS = {"dnsNameLabel", "location", "isDefault", "trafficPercentile"}


# v1's AKS defaults, applied by `DeploymentConfig.with_kubernetes_defaults()` (the AKS docs).
KUBERNETES_DEFAULTS: dict[str, Any] = {
    "cpu_cores": 0.1,
    "memory_gb": 0.5,
    "scoring_timeout_ms": 60_000,
    "period_seconds": 10,
    "initial_delay_seconds": 310,
    "timeout_seconds": 2,
    "success_threshold": 1,
    "failure_threshold": 3,
}
AUTOSCALE_DEFAULTS: dict[str, Any] = {
    "autoscale_min_replicas": 1,
    "autoscale_max_replicas": 10,
    "autoscale_refresh_seconds": 1,
    "autoscale_target_utilization": 70,
}
# The Kubernetes fields that size, autoscale, limit and probe a service's replicas: what an
# endpoint version takes from v1's AksEndpoint keywords. Other targets run one replica and
# do not read them (an endpoint on them warns that it ignores them).
KUBERNETES_REPLICA_FIELDS = (
    "num_replicas",
    "autoscale_enabled",
    *AUTOSCALE_DEFAULTS,
    "cpu_cores_limit",
    "memory_gb_limit",
    "period_seconds",
    "initial_delay_seconds",
    "timeout_seconds",
    "success_threshold",
    "failure_threshold",
)
# The ones that decide how many replicas run: given anew, they replace inherited ones whole
# (an inherited num_replicas must not clash with a new autoscale_enabled=True).
KUBERNETES_SIZING_FIELDS = ("num_replicas", "autoscale_enabled", *AUTOSCALE_DEFAULTS)
# v1 AKS settings modelport accepts without effect, and why (the warning says so).
KUBERNETES_IGNORED = {
    "enable_app_insights": "there is no Application Insights; requests and errors are in "
    "service.get_logs()",
    "gpu_cores": "GPU scheduling is not implemented; pods request CPU and memory only",
    "blobfuse_enabled": "models are copied into the service image, never mounted from blob storage",
    "properties": "services keep tags and a description; v1's write-once properties are not stored",
}
# A Kubernetes namespace: a DNS-1123 label (v1 checks the same pattern).
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def valid_namespace(name: Any) -> bool:
    """A Kubernetes namespace name: a DNS-1123 label."""
    return isinstance(name, str) and _NAMESPACE.fullmatch(name) is not None


def warn_ignored(where: str, given: Mapping[str, Any], reasons: Mapping[str, str]) -> None:
    """One ConfigWarning naming every accepted-and-ignored setting that was given, and why
    (settings with the same reason share it)."""
    by_reason: dict[str, list[str]] = {}
    for name, value in given.items():
        if name in reasons and value not in (None, False, 0, {}, [], ""):
            by_reason.setdefault(reasons[name], []).append(name)
    if by_reason:
        parts = [f"{', '.join(names)} ({why})" for why, names in by_reason.items()]
        warnings.warn(f"{where}: ignoring {'; '.join(parts)}.", ConfigWarning, stacklevel=3)


def _check_kubernetes(config: DeploymentConfig) -> None:
    """v1's cross-field rules for AKS settings (each field's own bounds are in its type)."""
    problems = []
    autoscale = {
        name: getattr(config, name)
        for name in AUTOSCALE_DEFAULTS
        if getattr(config, name) is not None
    }
    if config.autoscale_enabled and config.num_replicas is not None:
        problems.append(
            f"num_replicas={config.num_replicas} cannot be combined with autoscale_enabled=True "
            "(give a fixed replica count or autoscaling bounds, not both)"
        )
    if config.autoscale_enabled is False and config.num_replicas is None:
        problems.append("autoscale_enabled=False needs num_replicas (how many replicas to run)")
    if autoscale and not config.autoscale_enabled:
        problems.append(
            f"{', '.join(autoscale)} given without autoscale_enabled=True (v1 requires it)"
        )
    low, high = config.autoscale_min_replicas, config.autoscale_max_replicas
    if low is not None and high is not None and low > high:
        problems.append(
            f"autoscale_min_replicas={low} is greater than autoscale_max_replicas={high}"
        )
    kubernetes = config.compute_type == "kubernetes"
    for limit, request in (("cpu_cores_limit", "cpu_cores"), ("memory_gb_limit", "memory_gb")):
        wanted, given = getattr(config, request), getattr(config, limit)
        shown = f"{request}={wanted}"
        if wanted is None and kubernetes:
            wanted = KUBERNETES_DEFAULTS[request]
            shown = f"the default {request}={wanted}"
        if given is not None and wanted is not None and given < wanted:
            problems.append(
                f"{limit}={given} is below {shown} (a limit must be at least the request)"
            )
    if config.namespace is not None and not valid_namespace(config.namespace):
        problems.append(
            f"namespace={config.namespace!r} is not a Kubernetes namespace (up to 63 lowercase "
            "letters, digits and '-', starting and ending with a letter or digit)"
        )
    if problems:
        raise InvalidArgument(
            "; ".join(problems) + ".",
            hint="The AKS settings and their rules are in docs/deploy.md (Clusters).",
        )


def _normalize_compute(value: str) -> str:
    lowered = value.lower()
    aliases = {
        "local": "local",
        "aci": "container",
        "container": "container",
        "aks": "kubernetes",
        "kubernetes": "kubernetes",
        "ray": "ray",
    }
    if lowered not in aliases:
        raise InvalidArgument(
            f"Unknown computeType {value!r}.",
            hint="Use local, container (ACI), kubernetes (AKS) or ray.",
        )
    return aliases[lowered]


def _read_json(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InvalidArgument(f"The {what} file {path} does not exist.") from None
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"The {what} file {path} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"The {what} file {path} must hold a JSON object.")
    return data


def _warn_unknown(path: str | os.PathLike[str], data: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        warnings.warn(
            f"{path}: ignoring unknown key(s) {', '.join(unknown)}.", ConfigWarning, stacklevel=3
        )


def _environment_from_json(value: Any, base: Path, workspace: Any) -> Environment | None:
    if value is None:
        return None
    if isinstance(value, str):  # "name" or "name:version" of a registered environment
        if workspace is None:
            raise InvalidArgument(f"Environment reference {value!r} needs a workspace to resolve.")
        name, _, version = value.partition(":")
        return Environment.get(workspace, name, version or None)
    if isinstance(value, dict):
        if "name" in value and workspace is not None and set(value) <= {"name", "version"}:
            return Environment.get(workspace, value["name"], value.get("version"))
        python = value.get("python") or {}
        conda = python.get("condaDependenciesFile") or value.get("condaFile")
        if conda:
            env = Environment.from_conda_specification(
                value.get("name", "inference-env"), str(base / conda)
            )
        else:
            env = Environment(value.get("name", "inference-env"))
        env.environment_variables.update(value.get("environmentVariables") or {})
        return env
    raise InvalidArgument("inferenceconfig.json 'environment' must be a name or an object.")


# -- validation ---------------------------------------------------------------------------
# One pydantic schema per config form, so every way in (SDK arguments, from_dict, replace(),
# the CLI's JSON files) is checked the same way before anything is created. Errors become one
# line naming the field as the user wrote it, the value and what is allowed.
_STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True)
_FILE_OBJECT = ConfigDict(strict=True, extra="allow", defer_build=True)  # built on first use


class _PythonSection(BaseModel):
    model_config = _FILE_OBJECT
    condaDependenciesFile: Text | None = None


class _EnvironmentObject(BaseModel):
    """An inline `environment` of inferenceconfig.json (the v1 environment JSON)."""

    model_config = _FILE_OBJECT
    name: Text | None = None
    version: Text | int | None = None
    condaFile: Text | None = None
    python: _PythonSection | None = None
    environmentVariables: dict[str, str] | None = None


@functools.cache
def _schema(cls: type) -> type[BaseModel]:
    """The schema of a config dataclass, built from its annotations (bounds included)."""
    hints = get_type_hints(cls, include_extras=True)
    spec: dict[str, Any] = {f.name: (hints[f.name], ...) for f in fields(cls)}
    return create_model(f"{cls.__name__}Schema", __config__=_STRICT, **spec)


@functools.cache
def _deployment_file_schema() -> type[BaseModel]:
    hints = get_type_hints(DeploymentConfig, include_extras=True)
    spec: dict[str, Any] = {k: (hints[n], None) for k, n in _DEPLOYMENT_FILE_KEYS.items()}
    for key, names in _NESTED_FILE_KEYS.items():  # e.g. autoScaler.minReplicas (others ignored)
        inner: dict[str, Any] = {sub: (hints[n] | None, None) for sub, n in names.items()}
        section = create_model(key, __config__=_FILE_OBJECT, **inner)
        spec[key] = (section | None, None)
    spec["appInsightsEnabled"] = (bool | None, None)
    spec["gpuCores"] = (NonNegativeInt | None, None)
    return create_model("DeploymentConfigFile", __config__=_STRICT, **spec)


@functools.cache
def _inference_file_schema() -> type[BaseModel]:
    hints = get_type_hints(InferenceConfig, include_extras=True)
    spec: dict[str, Any] = {k: (hints[n], None) for k, n in _INFERENCE_FILE_KEYS.items()}
    spec["environment"] = (Text | _EnvironmentObject | None, None)
    return create_model("InferenceConfigFile", __config__=_STRICT, **spec)


def validate(cls: type, values: Mapping[str, Any]) -> None:
    """Check a config dataclass's values against its schema; InvalidArgument if they do not fit."""
    schema = _schema(cls)
    try:
        schema.model_validate(dict(values))
    except ValidationError as exc:
        raise InvalidArgument(_describe(exc, schema, values)) from None


def validate_file(
    path: str | os.PathLike[str], schema: type[BaseModel], data: Mapping[str, Any]
) -> None:
    """Check the known keys of a config file; the error names the file and the key."""
    known = {k: v for k, v in data.items() if k in schema.model_fields}
    try:
        schema.model_validate(known)
    except ValidationError as exc:
        raise InvalidArgument(f"{path}: {_describe(exc, schema, known)}") from None


def _values(config: Any) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in fields(config)}


def _describe(exc: ValidationError, schema: type[BaseModel], data: Mapping[str, Any]) -> str:
    """`port='abc' is not valid: must be an integer from 1 to 65535.` (several joined by '; ')."""
    found: dict[str, str] = {}
    for error in exc.errors():
        name, value, allowed = _locate(error["loc"], schema, data)
        found.setdefault(name, f"{name}={_shown(value)} is not valid: must be {allowed}")
    # a union's other branches also fail; keep the most specific field of each
    names = [n for n in found if not any(o.startswith(n + ".") for o in found)]
    return "; ".join(found[n] for n in names) + "."


def _locate(
    loc: tuple[int | str, ...], schema: type[BaseModel], data: Mapping[str, Any]
) -> tuple[str, Any, str]:
    """The deepest field of `loc` that names a schema field: its dotted name, value, rule."""
    name = str(loc[0])
    info = schema.model_fields[name]
    annotation, metadata, value = info.annotation, info.metadata, data.get(name)
    for part in loc[1:]:
        models = _models_in(annotation)
        owner = next((m for m in models if part in m.model_fields), None)
        if owner is not None and isinstance(value, Mapping):
            sub = owner.model_fields[str(part)]
            name, value = f"{name}.{part}", value.get(part)
            annotation, metadata = sub.annotation, sub.metadata
        elif not any(part == m.__name__ for m in models):
            break  # inside a dict or list: report the whole field
    return name, value, _allowed(annotation, metadata)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, types.UnionType, Annotated):
        return [m for arg in get_args(annotation) for m in _models_in(arg)]
    return []


def _allowed(annotation: Any, metadata: Any = ()) -> str:
    """What a field accepts, in words: `an integer from 1 to 65535`."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extras = get_args(annotation)
        inner = [m for e in extras for m in getattr(e, "metadata", [e])]
        return _allowed(base, [*metadata, *inner])
    if origin in (Union, types.UnionType):
        return " or ".join(
            _allowed(a, metadata) for a in get_args(annotation) if a is not type(None)
        )
    bound = {type(m).__name__: m for m in metadata}
    if annotation is bool:
        return "true or false"
    if annotation in (int, float):
        noun = "an integer" if annotation is int else "a number"
        if "Ge" in bound and "Le" in bound:
            return f"{noun} from {bound['Ge'].ge} to {bound['Le'].le}"
        if "Gt" in bound:
            return (
                f"a positive {noun.split()[-1]}"
                if bound["Gt"].gt == 0
                else f"{noun} > {bound['Gt'].gt}"
            )
        if "Ge" in bound:
            return f"{noun} of at least {bound['Ge'].ge}"
        return noun
    if annotation is str:
        return (
            "a non-empty string"
            if isinstance(bound.get("MinLen"), annotated_types.MinLen)
            else "a string"
        )
    if origin is dict:
        return "an object of string values" if get_args(annotation)[1] is str else "an object"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "an object with " + ", ".join(annotation.model_fields)
    if isinstance(annotation, type):
        name = annotation.__name__
        return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"
    return "a different value"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
