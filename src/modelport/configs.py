"""Inference and deployment configurations, in the SDK form and the Azure CLI's JSON forms.

`InferenceConfig` says what runs (entry script, source folder, environment);
a deployment config says where and how (target, port, auth, workers, limits).
"""

from __future__ import annotations

import functools
import json
import os
import types
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

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
            elif key == "containerResourceRequirements" and value is not None:
                values["cpu_cores"] = value.get("cpu")
                values["memory_gb"] = value.get("memoryInGB")
        values["compute_type"] = _normalize_compute(values.get("compute_type", "local"))
        base = Path(path).resolve().parent
        for name in ("ssl_cert_pem_file", "ssl_key_pem_file"):  # relative to the file
            if values.get(name):
                values[name] = str(base / values[name])
        extra = {k: v for k, v in data.items() if k in _ACCEPTED_EXTRA_KEYS}
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
        if self.cpu_cores is not None or self.memory_gb is not None:
            data["containerResourceRequirements"] = {
                "cpu": self.cpu_cores,
                "memoryInGB": self.memory_gb,
            }
        for key, attr in (
            ("workers", "workers"),
            ("scoringTimeoutMs", "scoring_timeout_ms"),
            ("maxConcurrentRequestsPerContainer", "max_concurrent_requests_per_container"),
            ("maxRequestBodyBytes", "max_request_body_bytes"),
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
}

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


class _ResourceRequirements(BaseModel):
    """`containerResourceRequirements` of deploymentconfig.json (other keys are ignored)."""

    model_config = _FILE_OBJECT
    cpu: PositiveNumber | None = None
    memoryInGB: PositiveNumber | None = None


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
    spec["containerResourceRequirements"] = (_ResourceRequirements | None, None)
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
