"""`Webservice` and its per-target classes (imported from `modelport.core.webservice`).

`Webservice(ws, name)` is a handle on a service the control plane (`modelport.deploy.service`)
recorded; everything target-specific goes through the service's target. The v1 names
`AciWebservice` / `AksWebservice` are aliases of `ContainerWebservice` / `KubernetesWebservice`.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport._ignored import ignored
from modelport.configs import (
    KUBERNETES_DEFAULTS,
    KUBERNETES_IGNORED,
    DeploymentConfig,
    InferenceConfig,
    warn_ignored,
)
from modelport.core._handle import ServingHandle
from modelport.deploy import service as control
from modelport.deploy.computes import get_compute
from modelport.deploy.service import TargetFallbackWarning
from modelport.deploy.states import FAILED, HEALTHY, TRANSITIONING, UNHEALTHY
from modelport.deploy.target import DeploymentTarget, ServiceRecord
from modelport.errors import InvalidArgument, ServiceNotFound, WebserviceException
from modelport.registry.documents import matches_tags
from modelport.registry.models import Model

if TYPE_CHECKING:
    import ssl

    from modelport.workspace import Workspace

__all__ = [
    "AciWebservice",
    "AksWebservice",
    "ContainerWebservice",
    "DeploymentConfig",
    "KubernetesWebservice",
    "LocalWebservice",
    "ServiceNotFound",
    "TargetFallbackWarning",
    "Webservice",
    "WebserviceException",
]


class Webservice(ServingHandle):
    """A handle on one deployed service: `Webservice(ws, name)` (of its target's class)."""

    KIND = control.KIND
    _NOUN = "Service"
    _KEY_HINT = "Deploy or update it with auth_enabled=True (authEnabled in the config file)."
    _TOKEN_HINT = (
        "Deploy or update it with token_auth_enabled=True (tokenAuthEnabled in the config file)."
    )
    _log_shown = 0  # how much of the log a show_output deploy already printed

    def __new__(cls, workspace: Workspace, name: str) -> Webservice:
        if cls is Webservice:  # v1 returns the class of the service's target
            doc = control.get_document(workspace, name)
            cls = _CLASSES.get(doc["deployment_config"]["compute_type"], Webservice)
        return super().__new__(cls)

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.name = name
        super().__init__(workspace, name)

    @classmethod
    def _missing(cls, name: str) -> ServiceNotFound:
        return ServiceNotFound(
            f"Service '{name}' does not exist in this workspace.",
            hint="List services with `modelport service list`.",
        )

    @staticmethod
    def list(
        workspace: Workspace,
        compute_type: str | None = None,
        image_name: str | None = None,
        image_id: str | None = None,
        model_name: str | None = None,
        model_id: str | None = None,
        tags: Sequence[Any] | None = None,
        properties: Sequence[Any] | None = None,
        image_digest: str | None = None,
        **_unused: Any,
    ) -> builtins.list[Webservice]:
        """The workspace's services matching every filter given (v1's keywords)."""
        if image_name or image_id or image_digest:
            ignored("Webservice.list(image_name=/image_id=/image_digest=)", _NO_IMAGE_FILTER)
        services = [Webservice(workspace, n) for n in control.service_names(workspace)]
        wanted = _normalized(compute_type)
        return [
            s
            for s in services
            if (wanted is None or s.compute_type == wanted)
            and matches_tags(s.tags, tags)
            and matches_tags(s.properties, properties)
            and _uses_model(s, model_name, model_id)
        ]

    @staticmethod
    def check_for_existing_webservice(
        workspace: Workspace,
        name: str,
        overwrite: bool = False,
        request_func: Any = None,
        check_func: Any = None,
    ) -> None:
        """Raise if service `name` exists, or delete it first with `overwrite=True` (v1's
        `request_func`/`check_func` hooks probed its REST API and are not used)."""
        if name not in control.service_names(workspace):
            return
        if not overwrite:
            raise WebserviceException(
                f"Service '{name}' already exists.",
                hint="Pass overwrite=True to replace it, or pick another name.",
            )
        Webservice(workspace, name).delete()

    @staticmethod
    def deploy_from_model(
        workspace: Workspace,
        name: str,
        models: Sequence[Model | str],
        image_config: Any,
        deployment_config: DeploymentConfig | None = None,
        deployment_target: Any = None,
        overwrite: bool = False,
    ) -> Webservice:
        """v1's image-era deploy: `image_config` (a `ContainerImage.image_configuration(...)`
        or an InferenceConfig) becomes the service's inference config; see `Model.deploy`."""
        config = _inference_config(image_config, _staging(workspace, name))
        return Webservice._deploy(
            workspace,
            name,
            models,
            config,
            deployment_config,
            overwrite,
            deployment_target=deployment_target,
        )

    @staticmethod
    def deploy(
        workspace: Workspace,
        name: str,
        model_paths: Sequence[str | Path],
        image_config: Any,
        deployment_config: DeploymentConfig | None = None,
        deployment_target: Any = None,
        overwrite: bool = False,
    ) -> Webservice:
        """Register each model file or folder (named after it) and deploy them, as v1 did."""
        models = [Model.register(workspace, str(p), Path(p).stem) for p in model_paths]
        return Webservice.deploy_from_model(
            workspace, name, models, image_config, deployment_config, deployment_target, overwrite
        )

    @staticmethod
    def deploy_from_image(
        workspace: Workspace,
        name: str,
        image: Any,
        deployment_config: DeploymentConfig | None = None,
        deployment_target: Any = None,
        overwrite: bool = False,
    ) -> Webservice:
        """Deploy what an `Image.create(...)` image holds: its models and scoring config
        (on the target the deployment config names; the container target runs it as an image)."""
        return Webservice._deploy(
            workspace,
            name,
            image.models,
            image.inference_config,
            deployment_config,
            overwrite,
            deployment_target=deployment_target,
        )

    @staticmethod
    def deploy_local_from_model(
        workspace: Workspace,
        name: str,
        models: Sequence[Model | str],
        image_config: Any,
        deployment_config: DeploymentConfig | None = None,
        wait: bool = False,
    ) -> Webservice:
        """Deploy on this machine (a local service); with `wait=True` return once it serves."""
        config = deployment_config or LocalWebservice.deploy_configuration()
        inference_config = _inference_config(image_config, _staging(workspace, name))
        service = Webservice._deploy(workspace, name, models, inference_config, config, True)
        if wait:
            service.wait_for_deployment()
        return service

    @staticmethod
    def _deploy(
        workspace: Workspace,
        name: str,
        models: Sequence[Model | str],
        inference_config: InferenceConfig | None,
        deployment_config: DeploymentConfig | None,
        overwrite: bool = False,
        show_output: bool = False,
        deployment_target: Any = None,
    ) -> Webservice:
        """The one deploy call behind Model.deploy and v1's Webservice.deploy_* forms."""
        if deployment_target is not None:
            deployment_config = _on_compute(workspace, deployment_config, deployment_target)
        doc = control.deploy_service(
            workspace, name, models, inference_config, deployment_config, overwrite, show_output
        )
        service = Webservice(workspace, doc["name"])
        service._log_shown = doc["log_shown"]  # wait_for_deployment prints the log from there
        return service

    @classmethod
    def deserialize(cls, workspace: Workspace, webservice_payload: dict[str, Any]) -> Webservice:
        """The service a `serialize()` payload names (it must still exist)."""
        return Webservice(workspace, str(webservice_payload["name"]))

    # -- attributes ---------------------------------------------------------------------
    @property
    def compute_type(self) -> str:
        return str(self._doc["deployment_config"]["compute_type"])

    @property
    def deployment_config(self) -> DeploymentConfig:
        return DeploymentConfig.from_dict(self._doc["deployment_config"])

    @property
    def inference_config(self) -> InferenceConfig:
        return InferenceConfig.from_dict(self._doc["inference_config"])

    @property
    def port(self) -> int | None:
        port = self._doc.get("target", {}).get("port") or self._doc["deployment_config"]["port"]
        return int(port) if port else None

    @property
    def models(self) -> builtins.list[Model]:
        return [Model(self.workspace, id=m) for m in self._doc["models"]]

    @property
    def auth_enabled(self) -> bool:
        return bool(self._doc["deployment_config"]["auth_enabled"])

    @property
    def token_auth_enabled(self) -> bool:
        return bool(self._doc["deployment_config"]["token_auth_enabled"])

    @property
    def scoring_uri(self) -> str:
        return self._target.scoring_uri(self._record)

    @property
    def swagger_uri(self) -> str:
        return self._target.swagger_uri(self._record)

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._doc.get("properties") or {})

    @property
    def _target(self) -> DeploymentTarget:
        return control.target_of(self._doc)

    @property
    def _record(self) -> ServiceRecord:
        return control.record_of(self.workspace, self._doc)

    def _live_state(self) -> tuple[str, str | None]:
        return control.live_state(self.workspace, self._doc)

    def _new_log(self, offset: int) -> tuple[str, int]:
        return self._target.read_log(self._record, offset)

    def _failure_detail(self) -> str:
        return f"\nLast log lines:\n{self.get_logs(num_lines=20)}"

    # -- lifecycle ----------------------------------------------------------------------
    def get_logs(self, num_lines: int = 5000, init: bool = False) -> str:
        return self._target.logs(self._record, num_lines)

    def run(self, input_data: Any) -> Any:
        """Score `input_data` (a JSON string or a JSON-able object); return the decoded answer."""
        import httpx

        body = input_data if isinstance(input_data, str | bytes) else json.dumps(input_data)
        headers = {"Content-Type": "application/json"}
        if self.auth_enabled:
            headers["Authorization"] = f"Bearer {self.get_keys()[0]}"
        elif self.token_auth_enabled:
            headers["Authorization"] = f"Bearer {self.get_token()[0]}"
        response = httpx.post(
            self.scoring_uri, content=body, headers=headers, timeout=300, verify=self._verify()
        )
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        if response.status_code >= 400:
            message = payload.get("message") if isinstance(payload, dict) else payload
            raise WebserviceException(
                f"Service '{self.name}' answered {response.status_code}: {message}"
            )
        return payload

    def _verify(self) -> ssl.SSLContext | bool:
        """TLS verification for our own calls: the system's CAs plus the certificate the
        service presents, so a self-signed one verifies (never `verify=False`)."""
        import ssl

        cert = self._target.certificate_file(self._record)
        if cert is None:
            return True
        context = ssl.create_default_context()
        try:
            context.load_verify_locations(cafile=str(cert))
        except (OSError, ssl.SSLError) as exc:
            raise WebserviceException(
                f"Service '{self.name}': cannot read its TLS certificate {cert}: {exc}",
                hint="Update the service with a readable ssl_cert_pem_file.",
            ) from None
        # the service's own certificate is a trust anchor even when it is not a CA's
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        return context

    def update(
        self,
        models: Sequence[Model | str] | None = None,
        inference_config: InferenceConfig | None = None,
        deployment_config: DeploymentConfig | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        auth_enabled: bool | None = None,
        token_auth_enabled: bool | None = None,
        show_output: bool = False,
        **_unused: Any,
    ) -> None:
        """Roll out a new revision: it starts beside the old one, which drains once it is ready."""
        self._doc = control.update_service(
            self.workspace,
            self.name,
            models,
            inference_config,
            deployment_config,
            description,
            tags,
            auth_enabled,
            token_auth_enabled,
            show_output,
        )

    def reload(self) -> None:
        """Re-read the service's record (v1's `reload` refreshes the object's fields)."""
        self._refresh()

    def deploy_to_cloud(
        self,
        name: str | None = None,
        deployment_config: DeploymentConfig | None = None,
        deployment_target: Any = None,
    ) -> Webservice:
        """Deploy this service's models and inference config as a new service: by default a
        container service (v1: ACI) named `name`; call `wait_for_deployment()` on it. (v1 has
        it on LocalWebservice; any service can be copied this way.)"""
        if deployment_config is None and deployment_target is None:
            deployment_config = ContainerWebservice.deploy_configuration()
        return Webservice._deploy(
            self.workspace,
            name or self.name,
            self.models,
            self.inference_config,
            deployment_config,
            deployment_target=deployment_target,
        )

    def update_deployment_state(self, must_exist: bool = False) -> None:
        """Re-read the service's record (its state is read live on every access); a deleted
        service raises ServiceNotFound whatever `must_exist` says."""
        self._refresh()

    def get_access_token(self) -> AccessToken:
        """v1's AKS token call: `get_token()` as an object with `access_token`,
        `refresh_after` and `token_type`."""
        token, refresh_after = self.get_token()
        return AccessToken(token, refresh_after)

    def add_tags(self, tags: dict[str, str]) -> None:
        """Add or replace tags (no new revision: tags only describe the service)."""
        self._doc = control.update_metadata(self.workspace, self.name, tags={**self.tags, **tags})

    def remove_tags(self, tags: Sequence[str]) -> None:
        kept = {k: v for k, v in self.tags.items() if k not in set(tags)}
        self._doc = control.update_metadata(self.workspace, self.name, tags=kept)

    def add_properties(self, properties: dict[str, str]) -> None:
        """Add properties; like v1, an existing property keeps its value."""
        merged = {**{str(k): str(v) for k, v in properties.items()}, **self.properties}
        self._doc = control.update_metadata(self.workspace, self.name, properties=merged)

    def restart(self) -> None:
        """Start a stopped or crashed service again from its last revision."""
        control.restart_service(self.workspace, self.name)

    def delete(self) -> None:
        """Stop every process, free the port and forget the service (and what it follows)."""
        from modelport.events import triggers

        control.delete_service(self.workspace, self.name)
        if any(t["name"] == self.name for t in triggers.list_all(self.workspace)):
            triggers.unfollow(self.workspace, self.name)

    # -- continuous deployment (modelport's addition; see docs/events.md) ------------------
    def follow(
        self,
        model_name: str,
        tags: dict[str, str] | None = None,
        smoke_data: str | Path | None = None,
    ) -> dict[str, Any]:
        """Roll this service to every version of `model_name` registered from now on whose
        tags include `tags`, through `update()` (no dropped request). With `smoke_data` (a
        JSON request body, a list of them, or JSON lines) the new version must first score
        every request with 200 on a candidate revision, else the current one keeps serving.
        Starts the workspace's events process if it is not running."""
        from modelport.events import process, triggers

        trigger = triggers.follow(self.workspace, self.name, model_name, tags, smoke_data)
        process.ensure_running(self.workspace)
        return trigger

    def unfollow(self) -> None:
        from modelport.events import triggers

        triggers.unfollow(self.workspace, self.name)

    def follow_status(self) -> dict[str, Any]:
        """The followed model, tags, smoke data and the last outcomes (newest last)."""
        from modelport.events import triggers

        return triggers.get(self.workspace, self.name)

    def _refresh(self) -> None:
        try:
            super()._refresh()
        except ServiceNotFound:
            raise ServiceNotFound(
                f"Service '{self.name}' does not exist (was it deleted?).",
                hint="List services with `modelport service list`.",
            ) from None

    # -- auth: where the keys and tokens come from (the refusals are ServingHandle's) -------
    def _keys(self) -> tuple[str, str]:
        return self._target.get_keys(self._record)

    def _regen(self, key: str, set_key: str | None) -> None:
        self._target.regen_key(self._record, key, set_key)

    def _token(self) -> tuple[str, datetime]:
        return self._target.get_token(self._record)

    def serialize(self) -> dict[str, Any]:
        state, error = control.live_state(self.workspace, self._doc)
        return {
            "name": self.name,
            "state": state,
            "error": error,
            "compute_type": self.compute_type,
            "scoring_uri": self.scoring_uri,
            "swagger_uri": self.swagger_uri,
            "models": list(self._doc["models"]),
            "revision": self._doc["revision"],
            "auth_enabled": self.auth_enabled,
            "token_auth_enabled": self.token_auth_enabled,
            "created_time": self.created_time.isoformat(timespec="seconds"),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace!r}, name={self.name!r})"


@dataclass(frozen=True)
class AccessToken:
    """What `get_access_token()` returns (v1: AksServiceAccessToken)."""

    access_token: str
    refresh_after: datetime
    token_type: str = "Bearer"

    @property
    def refresh_by(self) -> datetime:
        return self.refresh_after


class LocalWebservice(Webservice):
    """A service on this machine: a supervised process tree, no Docker.

    v1's `STATE_*` constants hold modelport's state names, so `service.state ==
    LocalWebservice.STATE_RUNNING` keeps its meaning (v1's values were lowercase words).
    """

    NETWORK_NAME = "azureml-local"  # v1's Docker network; local services use loopback ports
    STATE_DELETED = "Deleted"
    STATE_DEPLOYING = TRANSITIONING
    STATE_FAILED = FAILED
    STATE_RUNNING = HEALTHY
    STATE_UNKNOWN = UNHEALTHY

    @staticmethod
    def list(  # type: ignore[override]
        workspace: Workspace,
        model_name: str | None = None,
        model_id: str | None = None,
        all: bool | None = None,
        **filters: Any,
    ) -> builtins.list[Webservice]:
        """The local services (every service with `all=True`), by model if asked."""
        compute_type = None if all else "local"
        return Webservice.list(
            workspace, compute_type, model_name=model_name, model_id=model_id, **filters
        )

    def reload(self, wait: bool = False) -> None:
        """v1's local reload: copy the entry script and source directory again and restart on
        them, keeping the built environment; returns once the new copy serves."""
        self.update(inference_config=self.inference_config)

    def update(  # type: ignore[override]
        self,
        models: Sequence[Model | str] | None = None,
        image_config: Any = None,
        deployment_config: DeploymentConfig | None = None,
        wait: bool = False,
        inference_config: InferenceConfig | None = None,
        **changes: Any,
    ) -> None:
        """As `Webservice.update`; v1's `image_config` is read as the inference config and
        the update always completes before returning (`wait` has nothing to add)."""
        if image_config is not None and inference_config is None:
            inference_config = _inference_config(image_config, _staging(self.workspace, self.name))
        super().update(
            models=models,
            inference_config=inference_config,
            deployment_config=deployment_config,
            **changes,
        )

    def get_logs(  # type: ignore[override]
        self, num_lines: int = 5000, raw: bool = False, init: bool = False
    ) -> str:
        """The service log's last lines (already raw text, so `raw` changes nothing)."""
        return super().get_logs(num_lines)

    def delete(
        self, delete_cache: bool = True, delete_image: bool = False, delete_volume: bool = True
    ) -> None:
        """Stop and forget the service; v1's Docker cache, image and volume flags have nothing
        to act on here (a local service has none)."""
        given = {"delete_cache": delete_cache, "delete_image": delete_image}
        given["delete_volume"] = delete_volume
        for keyword, value in given.items():
            if value != (keyword != "delete_image"):  # the defaults: True, False, True
                ignored(f"LocalWebservice.delete({keyword}=)", _NO_DOCKER)
        super().delete()

    @staticmethod
    def deploy_configuration(
        port: int | None = None,
        workers: int | None = None,
        auth_enabled: bool = False,
        token_auth_enabled: bool = False,
        scoring_timeout_ms: int | None = None,
        max_concurrent_requests_per_container: int | None = None,
        max_request_wait_time: int | None = None,
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        host: str = "127.0.0.1",
        max_request_body_bytes: int | None = None,
        environment_variables: dict[str, str] | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        ssl_enabled: bool = False,
        ssl_cert_pem_file: str | None = None,
        ssl_key_pem_file: str | None = None,
        **_unused: Any,
    ) -> DeploymentConfig:
        return DeploymentConfig(
            compute_type="local",
            ssl_enabled=ssl_enabled,
            ssl_cert_pem_file=ssl_cert_pem_file,
            ssl_key_pem_file=ssl_key_pem_file,
            port=port,
            host=host,
            workers=workers,
            auth_enabled=auth_enabled,
            token_auth_enabled=token_auth_enabled,
            scoring_timeout_ms=scoring_timeout_ms,
            max_concurrent_requests_per_container=max_concurrent_requests_per_container,
            max_request_wait_time=max_request_wait_time,
            max_request_body_bytes=max_request_body_bytes,
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
            environment_variables=_copied(environment_variables),
            description=description,
            tags=_copied(tags),
        )


class ContainerWebservice(Webservice):
    """A single-container service on a Docker or Podman engine (v1: ACI). Without an engine
    the config runs as a local service with a TargetFallbackWarning, as v1 documents."""

    @staticmethod
    def deploy_configuration(
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        location: str | None = None,
        auth_enabled: bool = False,
        ssl_enabled: bool = False,
        enable_app_insights: bool = False,
        ssl_cert_pem_file: str | None = None,
        ssl_key_pem_file: str | None = None,
        ssl_cname: str | None = None,
        dns_name_label: str | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        collect_model_data: bool | None = None,
        cmk_vault_base_url: str | None = None,
        cmk_key_name: str | None = None,
        cmk_key_version: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
        token_auth_enabled: bool = False,
        port: int | None = None,
        workers: int | None = None,
        scoring_timeout_ms: int | None = None,
        environment_variables: dict[str, str] | None = None,
        **extra: Any,
    ) -> DeploymentConfig:
        """v1's AciWebservice.deploy_configuration keywords (the cloud-only ones are kept in
        `extra`); `port` is the port on this machine (default: a free one)."""
        cloud = {
            "location": location,
            "enable_app_insights": enable_app_insights or None,
            "dns_name_label": dns_name_label,
            "collect_model_data": collect_model_data,
            "cmk_vault_base_url": cmk_vault_base_url,
            "cmk_key_name": cmk_key_name,
            "cmk_key_version": cmk_key_version,
            "vnet_name": vnet_name,
            "subnet_name": subnet_name,
        }
        extra.update({k: v for k, v in cloud.items() if v is not None})
        return DeploymentConfig(
            compute_type="container",
            primary_key=primary_key,
            secondary_key=secondary_key,
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
            tags=_copied(tags),
            description=description,
            auth_enabled=auth_enabled,
            token_auth_enabled=token_auth_enabled,
            ssl_enabled=ssl_enabled,
            ssl_cert_pem_file=ssl_cert_pem_file,
            ssl_key_pem_file=ssl_key_pem_file,
            ssl_cname=ssl_cname,
            port=port,
            workers=workers,
            scoring_timeout_ms=scoring_timeout_ms,
            environment_variables=_copied(environment_variables),
            extra=extra,
        )


class KubernetesWebservice(Webservice):
    """A service on an attached Kubernetes cluster (v1: AKS)."""

    @staticmethod
    def deploy_configuration(
        autoscale_enabled: bool | None = None,
        autoscale_min_replicas: int | None = None,
        autoscale_max_replicas: int | None = None,
        autoscale_refresh_seconds: int | None = None,
        autoscale_target_utilization: int | None = None,
        collect_model_data: bool | None = None,
        auth_enabled: bool | None = None,
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        enable_app_insights: bool | None = None,
        scoring_timeout_ms: int | None = None,
        replica_max_concurrent_requests: int | None = None,
        max_request_wait_time: int | None = None,
        num_replicas: int | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        gpu_cores: int | None = None,
        period_seconds: int | None = None,
        initial_delay_seconds: int | None = None,
        timeout_seconds: int | None = None,
        success_threshold: int | None = None,
        failure_threshold: int | None = None,
        namespace: str | None = None,
        token_auth_enabled: bool | None = None,
        compute_target_name: str | None = None,
        cpu_cores_limit: float | None = None,
        memory_gb_limit: float | None = None,
        blobfuse_enabled: bool | None = None,
        environment_variables: dict[str, str] | None = None,
    ) -> DeploymentConfig:
        """v1's AksWebservice.deploy_configuration, parameter for parameter. Unset values
        take v1's AKS defaults when the service is deployed (`with_kubernetes_defaults`): key
        auth on, autoscaling 1-10 replicas unless `num_replicas` is given, 60 s scoring timeout.
        `environment_variables` is modelport's, as on the other targets."""
        ignored = {
            "enable_app_insights": enable_app_insights,
            "gpu_cores": gpu_cores,
            "blobfuse_enabled": blobfuse_enabled,
            "properties": properties,
        }
        warn_ignored("AksWebservice.deploy_configuration", ignored, KUBERNETES_IGNORED)
        token = bool(token_auth_enabled)
        try:
            return DeploymentConfig(
                compute_type="kubernetes",
                autoscale_enabled=autoscale_enabled,
                autoscale_min_replicas=autoscale_min_replicas,
                autoscale_max_replicas=autoscale_max_replicas,
                autoscale_refresh_seconds=autoscale_refresh_seconds,
                autoscale_target_utilization=autoscale_target_utilization,
                collect_model_data=bool(collect_model_data),
                auth_enabled=(not token) if auth_enabled is None else auth_enabled,
                token_auth_enabled=token,
                cpu_cores=cpu_cores,
                memory_gb=memory_gb,
                cpu_cores_limit=cpu_cores_limit,
                memory_gb_limit=memory_gb_limit,
                scoring_timeout_ms=KUBERNETES_DEFAULTS["scoring_timeout_ms"]
                if scoring_timeout_ms is None
                else scoring_timeout_ms,
                max_concurrent_requests_per_container=replica_max_concurrent_requests,
                max_request_wait_time=max_request_wait_time,
                num_replicas=num_replicas,
                primary_key=primary_key,
                secondary_key=secondary_key,
                tags=_copied(tags),
                description=description,
                period_seconds=period_seconds,
                initial_delay_seconds=initial_delay_seconds,
                timeout_seconds=timeout_seconds,
                success_threshold=success_threshold,
                failure_threshold=failure_threshold,
                namespace=namespace,
                compute_target=compute_target_name,
                environment_variables=_copied(environment_variables),
                extra={k: v for k, v in ignored.items() if v is not None},
            )
        except InvalidArgument as exc:  # name the fields as the caller did (v1's names)
            message = exc.message
            for field_name, v1_name in _V1_ARGUMENTS.items():
                message = message.replace(f"{field_name}=", f"{v1_name}=")
            raise InvalidArgument(message, hint=exc.hint) from None


# DeploymentConfig fields that AksWebservice.deploy_configuration takes under v1's names.
_V1_ARGUMENTS = {
    "max_concurrent_requests_per_container": "replica_max_concurrent_requests",
    "compute_target": "compute_target_name",
}


AciWebservice = ContainerWebservice
AksWebservice = KubernetesWebservice
_CLASSES: dict[str, type[Webservice]] = {
    "local": LocalWebservice,
    "container": ContainerWebservice,
    "kubernetes": KubernetesWebservice,
}


_NO_DOCKER = "a local service is a process tree: it has no Docker cache, image or volume"
_NO_IMAGE_FILTER = "services are not built from registered images; filter by model or tags"


def _staging(workspace: Workspace, name: str) -> Path:
    """Where an image configuration's files are kept for service `name` (outside the
    service's home, which a deploy replaces)."""
    staging = workspace.path / "images" / "_services" / name / "app"
    shutil.rmtree(staging, ignore_errors=True)
    return staging


def _uses_model(service: Webservice, model_name: str | None, model_id: str | None) -> bool:
    ids = service._doc["models"]
    if model_id is not None and model_id not in ids:
        return False
    return model_name is None or any(i.rsplit(":", 1)[0] == model_name for i in ids)


def _inference_config(config: Any, staging: Path | None = None) -> InferenceConfig:
    """An InferenceConfig, or v1's image configuration turned into one (its dependency
    files copied into `staging`)."""
    if isinstance(config, InferenceConfig):
        return config
    convert = getattr(config, "to_inference_config", None)
    if callable(convert):
        converted: InferenceConfig = convert(staging)
        return converted
    raise InvalidArgument(
        f"Expected an InferenceConfig or ContainerImage.image_configuration(...), got "
        f"{type(config).__name__}."
    )


def _copied(value: Any) -> Any:
    """A copy of a mapping argument; anything else is left for the config's schema to reject."""
    if value is None:
        return {}
    return dict(value) if isinstance(value, dict) else value


def _normalized(compute_type: str | None) -> str | None:
    if compute_type is None:
        return None
    lowered = compute_type.lower()
    return {"aci": "container", "aks": "kubernetes"}.get(lowered, lowered)


def _on_compute(
    workspace: Workspace, config: DeploymentConfig | None, compute: Any
) -> DeploymentConfig:
    """The config aimed at an attached compute (a ComputeTarget or its name); v1 deploys a
    Kubernetes service with the default AKS settings when only the target is given."""
    name = compute if isinstance(compute, str) else getattr(compute, "name", None)
    if not isinstance(name, str):
        raise InvalidArgument(
            f"deployment_target must be a ComputeTarget or its name, not {type(compute).__name__}.",
            hint="Pass ComputeTarget(ws, NAME), or leave it out for a local service.",
        )
    record = get_compute(workspace, name)  # ComputeTargetNotFound names the attached ones
    if record.compute_type == "amlcompute":
        raise InvalidArgument(
            f"Compute target '{name}' is an AmlCompute (batch jobs on this machine); web "
            "services deploy to an AksCompute or KubernetesCompute (which runs batch steps "
            "too).",
            hint="Attach a cluster (KubernetesCompute.attach_configuration) and deploy there, "
            "or leave deployment_target out for a local service.",
        )
    if config is None:
        config = KubernetesWebservice.deploy_configuration()
    if config.compute_type != record.compute_type:
        raise InvalidArgument(
            f"Compute target '{name}' is a {record.compute_type} cluster, but the deployment "
            f"config is for {config.compute_type} services.",
            hint="Use AksWebservice.deploy_configuration(...) (computeType AKS in a file).",
        )
    if config.compute_target not in (None, name):
        raise InvalidArgument(
            f"The deployment config names compute target '{config.compute_target}' but "
            f"deployment_target is '{name}'.",
            hint="Give one of them, or the same name in both.",
        )
    return dataclasses.replace(config, compute_target=name)
