"""Inference and deployment configurations, in the SDK form and the Azure CLI's JSON forms.

`InferenceConfig` says what runs (entry script, source folder, environment);
a deployment config says where and how (target, port, auth, workers, limits).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from modelport.environments import Environment
from modelport.errors import InvalidArgument


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
        base = Path(path).resolve().parent
        known = {
            "entryScript",
            "sourceDirectory",
            "environment",
            "condaFile",
            "runtime",
            "description",
            "extraDockerfileSteps",
            "baseImage",
            "enableGpu",
        }
        _warn_unknown(path, data, known)
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

    compute_type: str = "local"
    port: int | None = None
    host: str = "127.0.0.1"
    workers: int | None = None
    auth_enabled: bool = False
    token_auth_enabled: bool = False
    scoring_timeout_ms: int | None = None
    max_concurrent_requests_per_container: int | None = None
    max_request_wait_time: int | None = None
    cpu_cores: float | None = None
    memory_gb: float | None = None
    environment_variables: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    primary_key: str | None = None
    secondary_key: str | None = None
    ssl_enabled: bool = False
    ssl_cert_pem_file: str | None = None
    ssl_key_pem_file: str | None = None
    ssl_cname: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
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
        if self.port is not None and not 0 < int(self.port) < 65536:
            raise InvalidArgument(f"port must be between 1 and 65535, got {self.port}.")
        if self.workers is not None and int(self.workers) < 1:
            raise InvalidArgument(f"workers must be at least 1, got {self.workers}.")

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
        mapping = {
            "computeType": "compute_type",
            "port": "port",
            "authEnabled": "auth_enabled",
            "tokenAuthEnabled": "token_auth_enabled",
            "scoringTimeoutMs": "scoring_timeout_ms",
            "maxConcurrentRequestsPerContainer": "max_concurrent_requests_per_container",
            "maxQueueWaitMs": "max_request_wait_time",
            "workers": "workers",
            "host": "host",
            "environmentVariables": "environment_variables",
            "description": "description",
            "tags": "tags",
            "sslEnabled": "ssl_enabled",
            "sslCertificate": "ssl_cert_pem_file",
            "sslKey": "ssl_key_pem_file",
            "cname": "ssl_cname",
        }
        base = Path(path).resolve().parent
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key in mapping:
                values[mapping[key]] = value
            elif key == "containerResourceRequirements":
                values["cpu_cores"] = value.get("cpu")
                values["memory_gb"] = value.get("memoryInGB")
            elif key in _ACCEPTED_EXTRA_KEYS:
                extra[key] = value
            else:
                warnings.warn(
                    f"{path}: ignoring unknown deployment config key '{key}'.",
                    ConfigWarning,
                    stacklevel=2,
                )
        values["compute_type"] = _normalize_compute(str(values.get("compute_type", "local")))
        for name in ("ssl_cert_pem_file", "ssl_key_pem_file"):  # relative to the file
            if values.get(name):
                values[name] = str(base / values[name])
        return cls(**values, extra=extra)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write this config in the `deploymentconfig.json` form (what `--dc` reads)."""
        data: dict[str, Any] = {"computeType": self.compute_type}
        if self.port is not None:
            data["port"] = self.port
        data["authEnabled"] = self.auth_enabled
        data["tokenAuthEnabled"] = self.token_auth_enabled
        if self.cpu_cores is not None or self.memory_gb is not None:
            data["containerResourceRequirements"] = {
                "cpu": self.cpu_cores,
                "memoryInGB": self.memory_gb,
            }
        for key, attr in (
            ("workers", "workers"),
            ("scoringTimeoutMs", "scoring_timeout_ms"),
            ("maxConcurrentRequestsPerContainer", "max_concurrent_requests_per_container"),
        ):
            if getattr(self, attr) is not None:
                data[key] = getattr(self, attr)
        if self.ssl_enabled:
            data["sslEnabled"] = True
            data["sslCertificate"] = self.ssl_cert_pem_file
            data["sslKey"] = self.ssl_key_pem_file
            if self.ssl_cname:
                data["cname"] = self.ssl_cname
        target = Path(path)
        target.write_text(json.dumps(data, indent=2) + "\n")
        return target


# Keys of Azure deployment configs that only matter on cloud targets: kept, not warned about.
_ACCEPTED_EXTRA_KEYS = {
    "appInsightsEnabled",
    "autoScaler",
    "numReplicas",
    "dnsNameLabel",
    "location",
    "namespace",
    "livenessProbeRequirements",
    "dataCollection",
    "computeTargetName",
    "gpuCores",
    "keys",
    "isDefault",
    "trafficPercentile",
}


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
        python = value.get("python", {})
        conda = python.get("condaDependenciesFile") or value.get("condaFile")
        if conda:
            env = Environment.from_conda_specification(
                value.get("name", "inference-env"), str(base / conda)
            )
        else:
            env = Environment(value.get("name", "inference-env"))
        env.environment_variables.update(value.get("environmentVariables", {}))
        return env
    raise InvalidArgument("inferenceconfig.json 'environment' must be a name or an object.")
