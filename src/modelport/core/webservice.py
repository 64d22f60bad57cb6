"""`azureml.core.webservice` equivalents: `Webservice` and its per-target classes.

`Webservice(ws, name)` is a handle on a service the control plane (`modelport.deploy.service`)
recorded; everything target-specific goes through the service's target. The v1 names
`AciWebservice` / `AksWebservice` are aliases of `ContainerWebservice` / `KubernetesWebservice`.
"""

from __future__ import annotations

import builtins
import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.configs import DeploymentConfig, InferenceConfig
from modelport.deploy import service as control
from modelport.deploy.service import TargetFallbackWarning
from modelport.deploy.states import HEALTHY, TRANSITIONING
from modelport.deploy.target import DeploymentTarget, ServiceRecord
from modelport.errors import AuthNotEnabled, ServiceNotFound, WebserviceException
from modelport.registry.documents import StoredDocument
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


class Webservice(StoredDocument):
    """A handle on one deployed service: `Webservice(ws, name)` (of its target's class)."""

    KIND = control.KIND
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
        tags: Sequence[Any] | None = None,
        **_unused: Any,
    ) -> builtins.list[Webservice]:
        services = [Webservice(workspace, n) for n in control.service_names(workspace)]
        wanted = _normalized(compute_type)
        return [
            s
            for s in services
            if (wanted is None or s.compute_type == wanted) and _has_tags(s.tags, tags)
        ]

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
    def folder(self) -> Path:
        """The folder on this machine where the service's target keeps its files."""
        return Path(self._doc["home"])

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
    def description(self) -> str | None:
        return self._doc.get("description")

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._doc.get("tags") or {})

    @property
    def created_time(self) -> datetime:
        return datetime.fromtimestamp(self._doc["created_time"]).astimezone()

    @property
    def state(self) -> str:
        return control.live_state(self.workspace, self._doc)[0]

    @property
    def error(self) -> str | None:
        return control.live_state(self.workspace, self._doc)[1]

    @property
    def _target(self) -> DeploymentTarget:
        return control.target_of(self._doc)

    @property
    def _record(self) -> ServiceRecord:
        return control.record_of(self.workspace, self._doc)

    # -- lifecycle ----------------------------------------------------------------------
    def wait_for_deployment(
        self, show_output: bool = False, timeout_sec: float | None = None
    ) -> None:
        """Block until the service is Healthy; raise with the log tail if it fails."""
        deadline = time.monotonic() + (timeout_sec or 900)
        last = None
        offset = self._log_shown
        while True:
            self._refresh()
            state, error = control.live_state(self.workspace, self._doc)
            if show_output:
                text, offset = self._target.read_log(self._record, offset)
                if text:
                    sys.stdout.write(text)
                if state != last:
                    print(f"{self.name}: {state}" + (f" ({error})" if error else ""), flush=True)
                    last = state
            if state != TRANSITIONING:
                break
            if time.monotonic() > deadline:
                raise WebserviceException(
                    f"Service '{self.name}' is still {state} after {timeout_sec}s."
                )
            time.sleep(0.05)
        if state != HEALTHY:
            logs = self.get_logs(num_lines=20)
            raise WebserviceException(
                f"Service '{self.name}' deployment ended in state {state}: {error}.\n"
                f"Last log lines:\n{logs}"
            )

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

    def restart(self) -> None:
        """Start a stopped or crashed service again from its last revision."""
        control.restart_service(self.workspace, self.name)

    def delete(self) -> None:
        """Stop every process, free the port and forget the service."""
        control.delete_service(self.workspace, self.name)

    def _refresh(self) -> None:
        try:
            super()._refresh()
        except ServiceNotFound:
            raise ServiceNotFound(
                f"Service '{self.name}' does not exist (was it deleted?).",
                hint="List services with `modelport service list`.",
            ) from None

    # -- auth ---------------------------------------------------------------------------
    def get_keys(self) -> tuple[str, str]:
        if not self.auth_enabled:
            raise AuthNotEnabled(
                f"Key auth is not enabled on service '{self.name}'.",
                hint="Deploy or update it with auth_enabled=True (authEnabled in the config file).",
            )
        return self._target.get_keys(self._record)

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        if not self.auth_enabled:
            raise AuthNotEnabled(
                f"Key auth is not enabled on service '{self.name}'.",
                hint="Deploy or update it with auth_enabled=True (authEnabled in the config file).",
            )
        self._target.regen_key(self._record, key, set_key)

    def get_token(self) -> tuple[str, datetime]:
        """(token, refresh_after): a signed JWT; request a new one after `refresh_after`."""
        if not self.token_auth_enabled:
            raise AuthNotEnabled(
                f"Token auth is not enabled on service '{self.name}'.",
                hint="Deploy or update it with token_auth_enabled=True (tokenAuthEnabled in the "
                "config file).",
            )
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


class LocalWebservice(Webservice):
    """A service on this machine: a supervised process tree, no Docker."""

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
    """A service on Kubernetes (v1: AKS)."""

    @staticmethod
    def deploy_configuration(
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        auth_enabled: bool = True,
        token_auth_enabled: bool = False,
        scoring_timeout_ms: int | None = 60_000,
        replica_max_concurrent_requests: int | None = None,
        max_request_wait_time: int | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        environment_variables: dict[str, str] | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        **extra: Any,
    ) -> DeploymentConfig:
        return DeploymentConfig(
            compute_type="kubernetes",
            primary_key=primary_key,
            secondary_key=secondary_key,
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
            auth_enabled=auth_enabled,
            token_auth_enabled=token_auth_enabled,
            scoring_timeout_ms=scoring_timeout_ms,
            max_concurrent_requests_per_container=replica_max_concurrent_requests,
            max_request_wait_time=max_request_wait_time,
            tags=_copied(tags),
            description=description,
            environment_variables=_copied(environment_variables),
            extra=extra,
        )


AciWebservice = ContainerWebservice
AksWebservice = KubernetesWebservice
_CLASSES: dict[str, type[Webservice]] = {
    "local": LocalWebservice,
    "container": ContainerWebservice,
    "kubernetes": KubernetesWebservice,
}


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


def _has_tags(have: dict[str, str], wanted: Sequence[Any] | None) -> bool:
    """v1's `tags=['key', ['key2', 'value']]` filter."""
    for item in wanted or ():
        if isinstance(item, str):
            if item not in have:
                return False
        elif have.get(str(item[0])) != str(item[1]):
            return False
    return True
