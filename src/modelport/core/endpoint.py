"""Endpoints: several versions of a service behind one address, with a traffic split, a
control version and shadow versions (`azureml.core.webservice.AksEndpoint` in v1).

`Endpoint(ws, name)` is a handle on an endpoint the control plane (`modelport.deploy.endpoint`)
recorded; each version is an `EndpointVersion`, a `Webservice` handle on the version's
service. `AksEndpoint` is the v1 name of the same class: where it runs is the config's
`compute_type` (local by default, as every v1 config with no cloud runs here).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.configs import (
    KUBERNETES_IGNORED,
    KUBERNETES_REPLICA_FIELDS,
    DeploymentConfig,
    InferenceConfig,
    warn_ignored,
)
from modelport.core._handle import ServingHandle
from modelport.core.services import Webservice, _copied
from modelport.deploy import endpoint as control
from modelport.deploy import service as services
from modelport.deploy.endpoint import EndpointConfig
from modelport.errors import EndpointNotFound, WebserviceException
from modelport.registry.models import Model

if TYPE_CHECKING:
    from modelport.workspace import Workspace

__all__ = ["AksEndpoint", "Endpoint", "EndpointConfig", "EndpointVersion"]

# v1 keywords nothing here uses, and why (a warning says so).
_IGNORED = {
    "collect_model_data": "model data collection is not implemented; the router's metrics and "
    "shadow report count requests",
    "gpu_cores": KUBERNETES_IGNORED["gpu_cores"],
    "namespace": "versions run in their compute's namespace, beside the endpoint's router",
    "compute_target_name": "pass the compute as Model.deploy(..., deployment_target=)",
    "enable_app_insights": KUBERNETES_IGNORED["enable_app_insights"],
    "properties": KUBERNETES_IGNORED["properties"],
}


def _split_v1(where: str, given: dict[str, Any]) -> dict[str, Any]:
    """v1's replica, limit and probe keywords of a version (DeploymentConfig fields: the
    versions' on a Kubernetes compute, warned about at deploy anywhere else); the keywords
    with no use here are warned about once and dropped."""
    warn_ignored(where, {k: v for k, v in given.items() if k in _IGNORED}, _IGNORED)
    return {k: v for k, v in given.items() if k in KUBERNETES_REPLICA_FIELDS and v is not None}


def _version_settings(
    cpu_cores: float | None,
    memory_gb: float | None,
    scoring_timeout_ms: int | None,
    replica_max_concurrent_requests: int | None,
    max_request_wait_time: int | None,
    workers: int | None,
    environment_variables: dict[str, str] | None,
) -> dict[str, Any]:
    values = {
        "cpu_cores": cpu_cores,
        "memory_gb": memory_gb,
        "scoring_timeout_ms": scoring_timeout_ms,
        "max_concurrent_requests_per_container": replica_max_concurrent_requests,
        "max_request_wait_time": max_request_wait_time,
        "workers": workers,
        "environment_variables": environment_variables,
    }
    return {k: v for k, v in values.items() if v is not None}


class EndpointVersion(Webservice):
    """One version of an endpoint: a Webservice handle on its service, with the version's
    name (`name`), routing (`traffic_percentile`, `is_default`, `is_control_version`,
    `shadow_percentile`) and `service_name`. Changes go through its endpoint."""

    def __init__(self, endpoint: Endpoint, entry: dict[str, Any]) -> None:
        super().__init__(endpoint.workspace, entry["service"])
        self.endpoint = endpoint
        self.name = entry["name"]
        self.service_name = entry["service"]
        self._entry = entry
        self._traffic = control.weights(endpoint._doc["versions"])[entry["name"]]

    @property
    def traffic_percentile(self) -> float:
        """The share of live traffic it gets now (the default: what the others leave)."""
        return self._traffic

    @property
    def is_default(self) -> bool:
        return bool(self._entry["is_default"])

    @property
    def is_control_version(self) -> bool:
        return bool(self._entry["is_control_version"])

    is_control_version_type = is_control_version  # the v1 keyword's name

    @property
    def shadow_percentile(self) -> float:
        return float(self._entry.get("shadow_percentile") or 0)

    @property
    def description(self) -> str | None:
        return self._entry.get("description")

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._entry.get("tags") or {})

    def update(self, **changes: Any) -> None:  # type: ignore[override]
        """`endpoint.update_version(this version, ...)`."""
        self.endpoint.update_version(self.name, **changes)

    def delete(self) -> None:
        self.endpoint.delete_version(self.name)

    def restart(self) -> None:
        services.restart_service(self.workspace, self.service_name)

    def serialize(self) -> dict[str, Any]:
        return {
            **super().serialize(),
            "name": self.name,
            "service": self.service_name,
            "traffic_percentile": self.traffic_percentile,
            "is_default": self.is_default,
            "is_control_version": self.is_control_version,
            "shadow_percentile": self.shadow_percentile,
        }

    def __repr__(self) -> str:
        return f"EndpointVersion(endpoint={self.endpoint.name!r}, name={self.name!r})"


class Endpoint(ServingHandle):
    """A handle on one endpoint: `Endpoint(ws, name)`."""

    KIND = control.KIND
    _NOUN = "Endpoint"
    _KEY_HINT = "Deploy it with auth_enabled=True, or endpoint.update(auth_enabled=True)."
    _TOKEN_HINT = "Deploy it with token_auth_enabled=True."

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.name = name
        super().__init__(workspace, name)

    def _load(self) -> dict[str, Any]:
        # through the control plane: what a killed create left is cleaned up, not shown
        return control.get_document(self.workspace, self._name)

    @classmethod
    def _missing(cls, name: str) -> EndpointNotFound:
        return EndpointNotFound(
            f"Endpoint '{name}' does not exist in this workspace.",
            hint="List endpoints with `modelport endpoint list`.",
        )

    @staticmethod
    def list(workspace: Workspace) -> builtins.list[Endpoint]:
        return [Endpoint(workspace, n) for n in sorted(control.endpoint_names(workspace))]

    @staticmethod
    def deploy_configuration(
        version_name: str | None = None,
        traffic_percentile: float | None = None,
        is_default: bool | None = None,
        is_control_version: bool | None = None,
        shadow_percentile: float | None = None,
        compute_type: str = "local",
        port: int | None = None,
        host: str = "127.0.0.1",
        auth_enabled: bool = False,
        token_auth_enabled: bool = False,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        scoring_timeout_ms: int | None = None,
        replica_max_concurrent_requests: int | None = None,
        max_request_wait_time: int | None = None,
        workers: int | None = None,
        environment_variables: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        deployment_config: DeploymentConfig | None = None,
        shadow_queue_size: int = 1000,
        shadow_workers: int = 4,
        router_workers: int = 1,
        router_replicas: int = 1,
        router_max_replicas: int | None = None,
        num_replicas: int | None = None,
        autoscale_enabled: bool | None = None,
        autoscale_min_replicas: int | None = None,
        autoscale_max_replicas: int | None = None,
        autoscale_refresh_seconds: int | None = None,
        autoscale_target_utilization: int | None = None,
        cpu_cores_limit: float | None = None,
        memory_gb_limit: float | None = None,
        period_seconds: int | None = None,
        initial_delay_seconds: int | None = None,
        timeout_seconds: int | None = None,
        success_threshold: int | None = None,
        failure_threshold: int | None = None,
        **cloud: Any,
    ) -> EndpointConfig:
        """v1's AksEndpoint.deploy_configuration keywords; `compute_type` says where the
        versions run (local or container), `port`/`host` where the endpoint listens. The
        first version is the default (`is_default` may only confirm it). `deployment_config`
        (e.g. read from a deploymentconfig.json) is the versions' base config; the keywords
        given override it. v1's replica keywords (`num_replicas`, `autoscale_*`, the
        limits and probes) size each version's replicas on a Kubernetes compute, as on AKS.
        The router's own size: `router_workers` server processes on the endpoint's port
        (local), `router_replicas` pods, autoscaled up to `router_max_replicas` when given
        (Kubernetes, cluster-ip or load-balancer)."""
        if is_default is False:
            raise WebserviceException(
                "The first version of an endpoint is its default version.",
                hint="Leave is_default unset (or True); later versions may take the default.",
            )
        unknown = sorted(set(cloud) - set(_IGNORED))
        if unknown:
            raise TypeError(
                f"deploy_configuration() got unexpected keyword(s): {', '.join(unknown)}"
            )
        given = locals()
        replicas = _split_v1(
            "AksEndpoint.deploy_configuration",
            {**cloud, **{k: given[k] for k in KUBERNETES_REPLICA_FIELDS}},
        )
        base = control.version_settings(deployment_config) if deployment_config is not None else {}
        if deployment_config is not None:
            compute_type = deployment_config.compute_type
            auth_enabled = auth_enabled or deployment_config.auth_enabled
            token_auth_enabled = token_auth_enabled or deployment_config.token_auth_enabled
        dc = DeploymentConfig.from_dict(
            {
                **base,
                "compute_type": compute_type,
                **replicas,
                **_version_settings(
                    cpu_cores,
                    memory_gb,
                    scoring_timeout_ms,
                    replica_max_concurrent_requests,
                    max_request_wait_time,
                    workers,
                    _copied(environment_variables) if environment_variables is not None else None,
                ),
            }
        )
        return EndpointConfig(
            deployment_config=dc,
            version_name=version_name,
            traffic_percentile=traffic_percentile,
            is_default=True,
            is_control_version=is_control_version,
            shadow_percentile=shadow_percentile,
            host=host,
            port=port,
            auth_enabled=auth_enabled,
            token_auth_enabled=token_auth_enabled,
            primary_key=primary_key,
            secondary_key=secondary_key,
            description=description,
            tags=_copied(tags),
            shadow_queue_size=shadow_queue_size,
            shadow_workers=shadow_workers,
            router_workers=router_workers,
            router_replicas=router_replicas,
            router_max_replicas=router_max_replicas,
        )

    # -- attributes -----------------------------------------------------------------------
    @property
    def versions(self) -> dict[str, EndpointVersion]:
        """Version name → version (state, scoring details, traffic)."""
        self._refresh()
        return {n: EndpointVersion(self, v) for n, v in self._doc["versions"].items()}

    @property
    def default_version(self) -> str:
        return control.default_version(self._doc["versions"])

    @property
    def compute_type(self) -> str:
        return str(self._doc["compute_type"])

    @property
    def scoring_uri(self) -> str:
        return control.scoring_uri(self._doc)

    @property
    def swagger_uri(self) -> str:
        return control.swagger_uri(self._doc)

    @property
    def auth_enabled(self) -> bool:
        return bool(self._doc["auth_enabled"])

    @property
    def token_auth_enabled(self) -> bool:
        return bool(self._doc["token_auth_enabled"])

    def _live_state(self) -> tuple[str, str | None]:
        return control.live_state(self.workspace, self._doc)

    # -- versions -------------------------------------------------------------------------
    def create_version(
        self,
        version_name: str,
        autoscale_enabled: bool | None = None,
        autoscale_min_replicas: int | None = None,
        autoscale_max_replicas: int | None = None,
        autoscale_refresh_seconds: int | None = None,
        autoscale_target_utilization: int | None = None,
        collect_model_data: bool | None = None,
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        scoring_timeout_ms: int | None = None,
        replica_max_concurrent_requests: int | None = None,
        max_request_wait_time: int | None = None,
        num_replicas: int | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        models: Sequence[Model | str] | None = None,
        inference_config: InferenceConfig | None = None,
        gpu_cores: int | None = None,
        period_seconds: int | None = None,
        initial_delay_seconds: int | None = None,
        timeout_seconds: int | None = None,
        success_threshold: int | None = None,
        failure_threshold: int | None = None,
        traffic_percentile: float | None = None,
        is_default: bool | None = None,
        is_control_version_type: bool | None = None,
        cpu_cores_limit: float | None = None,
        memory_gb_limit: float | None = None,
        shadow_percentile: float | None = None,
        workers: int | None = None,
        environment_variables: dict[str, str] | None = None,
        deployment_config: DeploymentConfig | None = None,
        show_output: bool = False,
    ) -> EndpointVersion:
        """Deploy a new version; it gets traffic once it is Healthy. Without models or an
        inference config it takes the default version's."""
        return self._change_version(control.create_version, dict(locals()))

    def update_version(
        self,
        version_name: str,
        autoscale_enabled: bool | None = None,
        autoscale_min_replicas: int | None = None,
        autoscale_max_replicas: int | None = None,
        autoscale_refresh_seconds: int | None = None,
        autoscale_target_utilization: int | None = None,
        collect_model_data: bool | None = None,
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        scoring_timeout_ms: int | None = None,
        replica_max_concurrent_requests: int | None = None,
        max_request_wait_time: int | None = None,
        num_replicas: int | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        models: Sequence[Model | str] | None = None,
        inference_config: InferenceConfig | None = None,
        gpu_cores: int | None = None,
        period_seconds: int | None = None,
        initial_delay_seconds: int | None = None,
        timeout_seconds: int | None = None,
        success_threshold: int | None = None,
        failure_threshold: int | None = None,
        traffic_percentile: float | None = None,
        is_default: bool | None = None,
        is_control_version_type: bool | None = None,
        cpu_cores_limit: float | None = None,
        memory_gb_limit: float | None = None,
        shadow_percentile: float | None = None,
        workers: int | None = None,
        environment_variables: dict[str, str] | None = None,
        deployment_config: DeploymentConfig | None = None,
        show_output: bool = False,
    ) -> EndpointVersion:
        """Change a version; values left None stay. `is_default=True` moves the default here."""
        return self._change_version(control.update_version, dict(locals()))

    def _change_version(self, change: Any, given: dict[str, Any]) -> EndpointVersion:
        """create_version/update_version's one body: the keywords as the control plane takes them."""
        where = "AksEndpoint." + change.__name__
        replicas = _split_v1(
            where, {k: given.get(k) for k in (*_IGNORED, *KUBERNETES_REPLICA_FIELDS)}
        )
        dc = given["deployment_config"]
        settings = {
            **(control.version_settings(dc) if dc is not None else {}),
            **replicas,
            **_version_settings(
                given["cpu_cores"],
                given["memory_gb"],
                given["scoring_timeout_ms"],
                given["replica_max_concurrent_requests"],
                given["max_request_wait_time"],
                given["workers"],
                given["environment_variables"],
            ),
        }
        self._doc = change(
            self.workspace,
            self.name,
            given["version_name"],
            given["models"],
            given["inference_config"],
            settings,
            traffic_percentile=given["traffic_percentile"],
            is_default=given["is_default"],
            is_control_version=given["is_control_version_type"],
            shadow_percentile=given["shadow_percentile"],
            tags=given["tags"],
            description=given["description"],
            show_output=given["show_output"],
        )
        return self.versions[given["version_name"]]

    def delete_version(self, version_name: str) -> None:
        """Stop routing to it, let its requests finish, delete its service."""
        self._doc = control.delete_version(self.workspace, self.name, version_name)

    def set_traffic(self, shares: dict[str, float | str]) -> None:
        """Several versions' traffic in one change: `{"v1": 70, "v2": 30}`; a value
        "default" makes that version the default (it takes what the others leave)."""
        self._doc = control.set_traffic(self.workspace, self.name, shares)

    def update(
        self,
        auth_enabled: bool | None = None,
        token_auth_enabled: bool | None = None,
        enable_app_insights: bool | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
    ) -> None:
        _split_v1(
            "AksEndpoint.update",
            {"enable_app_insights": enable_app_insights, "properties": properties},
        )
        self._doc = control.update_endpoint(
            self.workspace, self.name, auth_enabled, token_auth_enabled, description, tags
        )

    def restart(self) -> None:
        """Start a stopped router and any version that is down again (after a reboot)."""
        control.restart_endpoint(self.workspace, self.name)

    def delete(self) -> None:
        """Stop the router and every version; forget the endpoint (and what it follows)."""
        from modelport.events import triggers

        control.delete_endpoint(self.workspace, self.name)
        trigger = triggers.ENDPOINT_PREFIX + self.name
        if any(t["name"] == trigger for t in triggers.list_all(self.workspace)):
            triggers.unfollow(self.workspace, trigger)

    # -- continuous deployment (modelport's addition; see docs/events.md) ------------------
    def follow(
        self,
        model_name: str,
        tags: dict[str, str] | None = None,
        traffic_percentile: float = 0,
        smoke_data: str | Path | None = None,
    ) -> dict[str, Any]:
        """Add every version of `model_name` registered from now on whose tags include
        `tags` as a new endpoint version `v<version>` with `traffic_percentile` of live
        traffic (0: reachable only by name), after `smoke_data` scores with 200 on it.
        Starts the workspace's events process if it is not running."""
        from modelport.events import process, triggers

        trigger = triggers.follow_endpoint(
            self.workspace, self.name, model_name, tags, traffic_percentile, smoke_data
        )
        process.ensure_running(self.workspace)
        return trigger

    def unfollow(self) -> None:
        from modelport.events import triggers

        triggers.unfollow(self.workspace, triggers.ENDPOINT_PREFIX + self.name)

    def follow_status(self) -> dict[str, Any]:
        """The followed model, tags, traffic share and the last outcomes (newest last)."""
        from modelport.events import triggers

        return triggers.get(self.workspace, triggers.ENDPOINT_PREFIX + self.name)

    # -- auth, scoring, shadow --------------------------------------------------------------
    def _keys(self) -> tuple[str, str]:
        return control.endpoint_keys(self._doc)

    def _regen(self, key: str, set_key: str | None) -> None:
        control.regen_endpoint_key(self._doc, key, set_key)

    def _token(self) -> tuple[str, datetime]:
        token, refresh_after = control.endpoint_token(self._doc)
        return token, refresh_after

    run = Webservice.run  # the same client call, through the endpoint's router

    def _verify(self) -> bool:
        """The router listens on plain HTTP (TLS, when a version has it, ends at that
        version; the router verifies it), so `run()` needs no certificate."""
        return True

    def get_shadow_report(self) -> dict[str, Any]:
        """Per shadow version: pairs, agreement, error rates, p50/p99 latency beside the
        primary's, and copies dropped because the shadow queue was full."""
        return control.shadow_report(self.workspace, self.name)

    def get_metrics(self) -> str:
        """The router's Prometheus text for the whole endpoint: per version requests by
        status class, latency, in flight, upstream errors, shadow counts (summed over the
        router's server processes, or its pods on Kubernetes)."""
        doc = control.get_document(self.workspace, self.name)
        return control.router_of(doc).metrics(doc["router"]).decode()

    def get_logs(self, num_lines: int = 5000) -> str:
        """The tail of the router's log."""
        from modelport.routing.supervisor import LOG

        path = self.folder / LOG
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return "\n".join(lines[-num_lines:])

    def serialize(self) -> dict[str, Any]:
        state, error = control.live_state(self.workspace, self._doc)
        return {
            "name": self.name,
            "state": state,
            "error": error,
            "compute_type": self.compute_type,
            "scoring_uri": self.scoring_uri,
            "swagger_uri": self.swagger_uri,
            "auth_enabled": self.auth_enabled,
            "token_auth_enabled": self.token_auth_enabled,
            "default_version": self.default_version,
            "versions": {n: v.serialize() for n, v in self.versions.items()},
            "created_time": self.created_time.isoformat(timespec="seconds"),
        }

    def _refresh(self) -> None:
        super()._refresh()

    def __repr__(self) -> str:
        return f"Endpoint(workspace={self.workspace!r}, name={self.name!r})"


AksEndpoint = Endpoint
