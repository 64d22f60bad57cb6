"""The endpoint control plane: endpoints recorded in the metadata store (kind "endpoint"),
each a router in front of versions that are ordinary services.

A version is a service named `<endpoint>-<version>`, deployed through `service.py` on its
target like any other, so endpoints work on every target whose router placement exists
(`routers.py`). The endpoint's document holds the versions and their traffic; every change of
routing goes through `_apply_routing`, which checks the whole new routing, hands the router
the new table, waits until it serves it, and only then records it. A check that fails
changes nothing: the previous routing keeps serving.

v1's rules: a non-default version gets the traffic given to it; the default version takes
what the others leave (100 minus their sum). Shadow versions (beyond v1) get no live traffic
and receive a copy of `shadow_percentile` percent of requests.
"""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
import time
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport._locks import named_lock, try_named_lock
from modelport._procs import process_alive
from modelport.configs import (
    KUBERNETES_REPLICA_FIELDS,
    KUBERNETES_SIZING_FIELDS,
    DeploymentConfig,
    InferenceConfig,
)
from modelport.deploy import credentials
from modelport.deploy import service as services
from modelport.deploy.routers import SHADOW_SINK, RouterHost, router_host
from modelport.deploy.states import FAILED, HEALTHY, TRANSITIONING, UNHEALTHY
from modelport.errors import (
    AlreadyExists,
    EndpointNotFound,
    InvalidArgument,
    NotFound,
    WebserviceException,
)
from modelport.registry.events import endpoint_traffic_changed
from modelport.registry.models import Model
from modelport.routing.table import RoutingTable, Upstream

if TYPE_CHECKING:
    from modelport.workspace import Workspace

KIND = "endpoint"
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_VERSION_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


@dataclass
class EndpointConfig:
    """How to deploy an endpoint and its first version (`Endpoint.deploy_configuration`).

    `deployment_config` is the versions' service config (target, resources, timeouts);
    `host`/`port` are the endpoint's own address (the router's); auth is the endpoint's.
    """

    deployment_config: DeploymentConfig
    version_name: str | None = None
    traffic_percentile: float | None = None
    is_default: bool | None = None
    is_control_version: bool | None = None
    shadow_percentile: float | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    auth_enabled: bool = False
    token_auth_enabled: bool = False
    primary_key: str | None = None
    secondary_key: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    shadow_queue_size: int = 1000  # copies waiting for a shadow version; more are dropped
    shadow_workers: int = 4  # copies in flight to shadow versions at once
    router_workers: int = 1  # router server processes on the endpoint's port (local router)
    router_replicas: int = 1  # router pods (Kubernetes, cluster-ip or load-balancer)
    router_max_replicas: int | None = None  # autoscale the router pods up to this many

    def __post_init__(self) -> None:
        if self.auth_enabled and self.token_auth_enabled:
            raise InvalidArgument(
                "auth_enabled and token_auth_enabled cannot both be on.",
                hint="Pick key auth or token auth.",
            )
        for key in ("shadow_queue_size", "shadow_workers", "router_workers", "router_replicas"):
            _check_count(key, getattr(self, key))
        if self.router_max_replicas is not None:
            _check_count("router_max_replicas", self.router_max_replicas)
            if self.router_max_replicas < self.router_replicas:
                raise InvalidArgument(
                    f"router_max_replicas={self.router_max_replicas} is below "
                    f"router_replicas={self.router_replicas} (the autoscaler's floor).",
                    hint="Give router_max_replicas >= router_replicas, or leave it unset.",
                )


def _check_count(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{key}={value!r} is not valid: must be a whole number >= 1.")


def warn_single_replica(version: str, dc: DeploymentConfig, given: dict[str, Any]) -> None:
    """v1's replica, limit and probe settings mean something only where a version has
    replicas (Kubernetes); a version on this machine is one service: say so, once per call."""
    if dc.compute_type == "kubernetes":
        return
    used = {k: given[k] for k in KUBERNETES_REPLICA_FIELDS if given.get(k) not in (None, False)}
    if used:
        shown = ", ".join(f"{k}={v}" for k, v in used.items())
        warnings.warn(
            f"Ignoring {shown}: they size, limit or probe Kubernetes replicas, and endpoint "
            f"version '{version}' runs as one {dc.compute_type} service (deploy the endpoint "
            "with deployment_target=<a Kubernetes compute> for replicas).",
            UserWarning,
            stacklevel=4,
        )


def inherit(base: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Version settings `given` over inherited ones (the first version's, or the version's
    own before an update); replica sizing given anew replaces the inherited sizing whole, so
    an inherited num_replicas never clashes with a new autoscale_enabled=True."""
    if any(given.get(k) is not None for k in KUBERNETES_SIZING_FIELDS):
        base = {k: v for k, v in base.items() if k not in KUBERNETES_SIZING_FIELDS}
    return {**base, **given}


# -- reading ------------------------------------------------------------------------------
def get_document(workspace: Workspace, name: str) -> dict[str, Any]:
    try:
        doc = _settled(workspace, workspace.store.get_document(KIND, name))
    except NotFound:
        doc = None
    if doc is None:
        raise EndpointNotFound(
            f"Endpoint '{name}' does not exist in this workspace.",
            hint="List endpoints with `modelport endpoint list`.",
        ) from None
    return doc


def endpoint_names(workspace: Workspace) -> list[str]:
    docs = (_settled(workspace, d) for d in workspace.store.list_documents(KIND))
    return [d["name"] for d in docs if d is not None]


# -- a create that was killed ----------------------------------------------------------
# create_endpoint records the endpoint first, marked `creating` with its own process (and the
# version service it is about to deploy), before it starts anything; the mark goes when the
# endpoint is complete. A marked record whose creator is gone is what a killed create left:
# the next command that reads it stops its router, deletes its version and forgets it.
def _creator_alive(doc: dict[str, Any]) -> bool:
    creating = doc["creating"]
    return process_alive(creating.get("pid"), creating.get("started"))


def _settled(workspace: Workspace, doc: dict[str, Any]) -> dict[str, Any] | None:
    """`doc`, or None once what a killed create left has been cleaned up."""
    if not doc.get("creating") or _creator_alive(doc):
        return doc
    with try_named_lock(workspace.path / "endpoints", doc["name"]) as mine:
        if not mine:  # someone (this process, perhaps) is working on it: leave it to them
            return doc
        try:
            doc = workspace.store.get_document(KIND, doc["name"])
        except NotFound:
            return None
        if not doc.get("creating") or _creator_alive(doc):
            return doc
        _delete(workspace, doc)
        return None


def _creating_mark() -> dict[str, Any]:
    import psutil

    me = psutil.Process()
    return {"pid": me.pid, "started": me.create_time()}


def router_of(doc: dict[str, Any]) -> RouterHost:
    return router_host(doc["compute_type"])


def scoring_uri(doc: dict[str, Any]) -> str:
    return f"{router_of(doc).base_url(doc['router'])}/score"


def swagger_uri(doc: dict[str, Any]) -> str:
    return f"{router_of(doc).base_url(doc['router'])}/swagger.json"


def weights(versions: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Each version's share of live traffic: its own, or for the default what is left."""
    others = sum(
        float(v["traffic_percentile"] or 0) for v in versions.values() if not v["is_default"]
    )
    return {
        n: max(0.0, 100.0 - others) if v["is_default"] else float(v["traffic_percentile"] or 0)
        for n, v in versions.items()
    }


def live_state(workspace: Workspace, doc: dict[str, Any]) -> tuple[str, str | None]:
    """Transitioning while a version is; Healthy when the router and every version are."""
    if doc.get("creating"):
        return TRANSITIONING, f"being created by process {doc['creating']['pid']}"
    worst: tuple[str, str | None] = router_of(doc).state(Path(doc["home"]))
    if worst[0] != HEALTHY:
        return worst
    for version in doc["versions"].values():
        try:
            service_doc = services.get_document(workspace, version["service"])
        except NotFound:
            return UNHEALTHY, f"version '{version['name']}': its service is gone"
        state, error = services.live_state(workspace, service_doc)
        if state == TRANSITIONING:
            worst = (TRANSITIONING, None)
        elif state != HEALTHY and worst[0] != TRANSITIONING:
            return (
                FAILED if state == FAILED else UNHEALTHY
            ), f"version '{version['name']}': {error}"
    return worst


# -- checking routing ---------------------------------------------------------------------
def check_routing(name: str, versions: dict[str, dict[str, Any]]) -> None:
    """Every rule a routing must keep; InvalidArgument naming the first one broken."""
    for v in versions.values():
        for key in ("traffic_percentile", "shadow_percentile"):
            value = v.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                raise InvalidArgument(f"Version '{v['name']}': {key}={value!r} is not a number.")
            if not 0 <= value <= 100:
                raise InvalidArgument(
                    f"Version '{v['name']}': {key}={value:g} is outside 0-100.",
                    hint="Give a percentage from 0 to 100.",
                )
    defaults = [n for n, v in versions.items() if v["is_default"]]
    if len(defaults) > 1:
        raise InvalidArgument(
            f"Endpoint '{name}' would have two default versions ({', '.join(sorted(defaults))}).",
            hint="Mark exactly one version as the default.",
        )
    if not defaults:
        raise InvalidArgument(
            f"Endpoint '{name}' would have no default version.",
            hint="Make another version the default (is_default=True) instead.",
        )
    controls = [n for n, v in versions.items() if v["is_control_version"]]
    if len(controls) > 1:
        raise InvalidArgument(
            f"Endpoint '{name}' would have two control versions ({', '.join(sorted(controls))}).",
            hint="Mark at most one version as the control version.",
        )
    for n, v in versions.items():
        if float(v.get("shadow_percentile") or 0) > 0 and (
            v["is_default"] or float(v["traffic_percentile"] or 0) > 0
        ):
            raise InvalidArgument(
                f"Version '{n}' cannot be a shadow and also take live traffic"
                + (
                    " (it is the default)."
                    if v["is_default"]
                    else f" ({v['traffic_percentile']:g}%)."
                ),
                hint="Give a shadow version traffic_percentile=0 and make another version the default.",
            )
    others = sum(
        float(v["traffic_percentile"] or 0) for v in versions.values() if not v["is_default"]
    )
    if others > 100 + 1e-9:
        raise InvalidArgument(
            f"The versions of endpoint '{name}' other than the default ask for {others:g}% of "
            "the traffic; together they may have at most 100%.",
            hint="Lower some traffic_percentile values (the default takes what is left).",
        )


# -- changing -----------------------------------------------------------------------------
def endpoint_lock(workspace: Workspace, name: str) -> AbstractContextManager[None]:
    return named_lock(workspace.path / "endpoints", name)


def create_endpoint(
    workspace: Workspace,
    name: str,
    models: Sequence[Model | str],
    inference_config: InferenceConfig | None,
    config: EndpointConfig,
    overwrite: bool = False,
    show_output: bool = False,
) -> dict[str, Any]:
    """Model.deploy with an endpoint config: the first version (the default) and the router.
    Returns once both are starting; `wait_for_endpoint` waits for them."""
    _check_name(name)
    router = router_host(config.deployment_config.compute_type)
    version_name = config.version_name or "v1"
    dc = config.deployment_config
    warn_single_replica(version_name, dc, dc.to_dict())
    service_name = _service_name(name, version_name)
    first = _version(version_name, service_name, config, is_default=True)
    check_routing(name, {version_name: first})
    with endpoint_lock(workspace, name):
        _replace_existing(workspace, name, overwrite)
        home = workspace.path / "endpoints" / name
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        try:
            placed = {
                **router.place(
                    config.host,
                    config.port,
                    workspace,
                    config.deployment_config,
                    replicas=config.router_replicas,
                    max_replicas=config.router_max_replicas,
                ),
                "workers": config.router_workers,
            }
            if config.auth_enabled:
                credentials.ensure_keys(
                    home / "keys.json", config.primary_key, config.secondary_key
                )
            if config.token_auth_enabled:
                credentials.ensure_token_secret(home / "token_secret")
            now = time.time()
            doc: dict[str, Any] = {
                "name": name,
                "compute_type": config.deployment_config.compute_type,
                "home": str(home),
                "router": placed,
                "auth_enabled": config.auth_enabled,
                "token_auth_enabled": config.token_auth_enabled,
                "description": config.description,
                "tags": dict(config.tags),
                "version_config": version_settings(config.deployment_config),
                "shadow": {
                    "queue": config.shadow_queue_size,
                    "workers": config.shadow_workers,
                },
                "revision": 0,
                "versions": {},
                "created_time": now,
                "updated_time": now,
            }
            # recorded before anything starts, so a killed create leaves nothing unowned
            mark = {**_creating_mark(), "service": service_name}
            workspace.store.put_document(KIND, name, {**doc, "creating": mark})
            service_doc = services.deploy_service(
                workspace,
                service_name,
                models,
                inference_config,
                _version_config(doc, config.deployment_config),
                overwrite=overwrite,
                show_output=show_output,
                endpoint=name,
            )
            doc["versions"] = {version_name: first}
            doc["revision"] = 1
            router.start(home, placed, _table(workspace, doc, doc["versions"], 1))
        except BaseException:
            router.stop(home)
            _forget_service(workspace, service_name)
            with suppress(NotFound):
                workspace.store.delete_document(KIND, name)
            shutil.rmtree(home, ignore_errors=True)
            raise
        workspace.store.put_document(KIND, name, doc)  # complete: the mark goes
        return {**doc, "log_shown": service_doc.get("log_shown", 0)}


def create_version(
    workspace: Workspace,
    name: str,
    version_name: str,
    models: Sequence[Model | str] | None,
    inference_config: InferenceConfig | None,
    deployment_config: dict[str, Any],
    traffic_percentile: float | None = None,
    is_default: bool | None = None,
    is_control_version: bool | None = None,
    shadow_percentile: float | None = None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    show_output: bool = False,
    timeout_s: float = 900,
) -> dict[str, Any]:
    """Deploy a new version and, once it is Healthy, route to it. Bad routing input is
    refused before anything is deployed; a version that fails to start is removed and the
    routing stays as it was."""
    with endpoint_lock(workspace, name):
        doc = get_document(workspace, name)
        if version_name in doc["versions"]:
            raise AlreadyExists(
                f"Endpoint '{name}' already has a version '{version_name}'.",
                hint="Pick another version name, or change it with update_version.",
            )
        service_name = _service_name(name, version_name)
        entry = {
            "name": version_name,
            "service": service_name,
            "traffic_percentile": traffic_percentile if traffic_percentile is not None else 0,
            "is_default": bool(is_default),
            "is_control_version": bool(is_control_version),
            "shadow_percentile": shadow_percentile if shadow_percentile is not None else 0,
            "tags": dict(tags or {}),
            "description": description,
            "created_time": time.time(),
        }
        versions = _with(doc["versions"], version_name, entry)
        check_routing(name, versions)
        if models is None or inference_config is None:
            default = doc["versions"][default_version(doc["versions"])]
            base = services.get_document(workspace, default["service"])
            models = models if models is not None else list(base["models"])
            inference_config = inference_config or InferenceConfig.from_dict(
                base["inference_config"]
            )
        dc = DeploymentConfig.from_dict(inherit(doc["version_config"], deployment_config))
        warn_single_replica(version_name, dc, deployment_config)
        router_host(dc.compute_type)  # a version the router cannot reach is refused up front
        try:
            services.deploy_service(
                workspace,
                service_name,
                models,
                inference_config,
                _version_config(doc, dc),
                show_output=show_output,
                endpoint=name,
            )
            _await_service(workspace, service_name, timeout_s)
            return _apply_routing(workspace, doc, versions)
        except BaseException:
            _forget_service(workspace, service_name)
            raise


def update_version(
    workspace: Workspace,
    name: str,
    version_name: str,
    models: Sequence[Model | str] | None = None,
    inference_config: InferenceConfig | None = None,
    deployment_config: dict[str, Any] | None = None,
    traffic_percentile: float | None = None,
    is_default: bool | None = None,
    is_control_version: bool | None = None,
    shadow_percentile: float | None = None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    show_output: bool = False,
) -> dict[str, Any]:
    """Change a version: its service rolls out a new revision (drain-free) when models or
    configs change, then the routing changes. Values left None stay as they are."""
    with endpoint_lock(workspace, name):
        doc = get_document(workspace, name)
        current = _version_of(doc, version_name)
        entry = dict(current)
        for key, value in (
            ("traffic_percentile", traffic_percentile),
            ("is_default", is_default),
            ("is_control_version", is_control_version),
            ("shadow_percentile", shadow_percentile),
            ("tags", tags),
            ("description", description),
        ):
            if value is not None:
                entry[key] = value
        versions = _with(doc["versions"], version_name, entry)
        check_routing(name, versions)
        if models is not None or inference_config is not None or deployment_config:
            service_doc = services.get_document(workspace, current["service"])
            dc = None
            if deployment_config:
                merged = inherit(service_doc["deployment_config"], deployment_config)
                dc = _version_config(doc, DeploymentConfig.from_dict(merged))
                warn_single_replica(version_name, dc, deployment_config)
            services.update_service(
                workspace,
                current["service"],
                models,
                inference_config,
                dc,
                show_output=show_output,
            )
        return _apply_routing(workspace, doc, versions)


def delete_version(workspace: Workspace, name: str, version_name: str) -> dict[str, Any]:
    """Stop routing to a version, let its requests in flight finish, then delete its service."""
    with endpoint_lock(workspace, name):
        doc = get_document(workspace, name)
        entry = _version_of(doc, version_name)
        if len(doc["versions"]) == 1:
            raise InvalidArgument(
                f"Version '{version_name}' is the last version of endpoint '{name}'.",
                hint=f"Delete the endpoint instead: modelport endpoint delete {name}",
            )
        if entry["is_default"]:
            raise InvalidArgument(
                f"Version '{version_name}' is the default version of endpoint '{name}'.",
                hint="Make another version the default first (update_version(..., is_default=True)).",
            )
        versions = {n: v for n, v in doc["versions"].items() if n != version_name}
        doc = _apply_routing(workspace, doc, versions)
        router_of(doc).wait_drained(doc["router"], version_name)
        _forget_service(workspace, entry["service"])
        return doc


def set_traffic(workspace: Workspace, name: str, shares: dict[str, float | str]) -> dict[str, Any]:
    """Set several versions' traffic in one change (`endpoint traffic NAME v1=70 v2=30`).

    A value is a percentage or "default" (that version becomes the default and takes what
    is left). Versions not named keep their traffic; the default named with a number must
    be given exactly what the others leave."""
    with endpoint_lock(workspace, name):
        doc = get_document(workspace, name)
        for version in shares:
            _version_of(doc, version)
        named_defaults = [v for v, share in shares.items() if share == "default"]
        if len(named_defaults) > 1:
            raise InvalidArgument(
                f"Endpoint '{name}' would have two default versions ({', '.join(named_defaults)}).",
                hint="Name at most one version as `=default`.",
            )
        versions = {n: dict(v) for n, v in doc["versions"].items()}
        for version, share in shares.items():
            if share == "default":
                continue
            if isinstance(share, str):
                raise InvalidArgument(
                    f"Traffic for version '{version}' must be a number or 'default', not {share!r}."
                )
            versions[version]["traffic_percentile"] = share
        if named_defaults:
            for n, v in versions.items():
                v["is_default"] = n == named_defaults[0]
        check_routing(name, versions)
        effective = weights(versions)
        for version, given in shares.items():
            if (
                versions[version]["is_default"]
                and given != "default"
                and abs(float(given) - effective[version]) > 1e-9
            ):
                raise InvalidArgument(
                    f"Version '{version}' is the default, so it takes what the others leave: "
                    f"{effective[version]:g}%, not {float(given):g}%.",
                    hint="Make the numbers add up to 100, or write `" + version + "=default`.",
                )
        return _apply_routing(workspace, doc, versions)


def update_endpoint(
    workspace: Workspace,
    name: str,
    auth_enabled: bool | None = None,
    token_auth_enabled: bool | None = None,
    description: str | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The endpoint's own settings (v1 AksEndpoint.update); auth applies at the router."""
    with endpoint_lock(workspace, name):
        doc = get_document(workspace, name)
        key_auth = doc["auth_enabled"] if auth_enabled is None else auth_enabled
        token_auth = doc["token_auth_enabled"] if token_auth_enabled is None else token_auth_enabled
        if key_auth and token_auth:
            raise InvalidArgument(
                "auth_enabled and token_auth_enabled cannot both be on.",
                hint="Pick key auth or token auth.",
            )
        home = Path(doc["home"])
        if key_auth:
            credentials.ensure_keys(home / "keys.json")
        if token_auth:
            credentials.ensure_token_secret(home / "token_secret")
        if description is not None:
            doc["description"] = description
        if tags is not None:
            doc["tags"] = dict(tags)
        doc.update(auth_enabled=key_auth, token_auth_enabled=token_auth)
        return _apply_routing(workspace, doc, doc["versions"])


def restart_endpoint(workspace: Workspace, name: str) -> None:
    """After a reboot or a kill: restart the versions that are not Healthy, then the router
    on the recorded routing (the same revision)."""
    with endpoint_lock(workspace, name):
        doc = get_document(workspace, name)
        for version in doc["versions"].values():
            service_doc = services.get_document(workspace, version["service"])
            if services.live_state(workspace, service_doc)[0] != HEALTHY:
                services.restart_service(workspace, version["service"])
        home, router = Path(doc["home"]), router_of(doc)
        router.stop(home)
        router.start(home, doc["router"], _table(workspace, doc, doc["versions"], doc["revision"]))


def delete_endpoint(workspace: Workspace, name: str) -> None:
    """Stop the router, delete every version's service, forget the endpoint."""
    with endpoint_lock(workspace, name):
        doc = get_document(workspace, name)
        _delete(workspace, doc)


def _delete(workspace: Workspace, doc: dict[str, Any]) -> None:
    router_of(doc).stop(Path(doc["home"]))
    for version in doc["versions"].values():
        _forget_service(workspace, version["service"])
    if doc.get("creating"):  # a version the create may have deployed before it was killed
        _forget_service(workspace, doc["creating"]["service"])
    with suppress(NotFound):
        workspace.store.delete_document(KIND, doc["name"])
    shutil.rmtree(doc["home"], ignore_errors=True)


def wait_for_endpoint(
    workspace: Workspace, name: str, timeout_s: float = 900
) -> tuple[str, str | None]:
    """Poll until the endpoint is no longer Transitioning; its (state, error)."""
    deadline = time.monotonic() + timeout_s
    while True:
        state, error = live_state(workspace, get_document(workspace, name))
        if state != TRANSITIONING or time.monotonic() > deadline:
            return state, error
        time.sleep(0.05)


# -- credentials --------------------------------------------------------------------------
def endpoint_keys(doc: dict[str, Any]) -> tuple[str, str]:
    keys = credentials.read_keys(Path(doc["home"]) / "keys.json")
    return keys["primary"], keys["secondary"]


def regen_endpoint_key(doc: dict[str, Any], key: str, set_key: str | None) -> None:
    credentials.regen_key(Path(doc["home"]) / "keys.json", key, set_key)
    router_of(doc).credentials_changed(Path(doc["home"]), doc["router"])


def endpoint_token(doc: dict[str, Any]) -> tuple[str, Any]:
    return credentials.issue_token(Path(doc["home"]) / "token_secret", doc["name"])


# -- shadow report ------------------------------------------------------------------------
def shadow_report(workspace: Workspace, name: str) -> dict[str, Any]:
    """Per shadow version: pairs, agreement, error rates and latency beside its primary's,
    from the pairs the router kept (a local router's sink, rotated files included; every
    router pod's on Kubernetes), plus copies the router dropped."""
    doc = get_document(workspace, name)
    router = router_of(doc)
    pairs: dict[str, list[dict[str, Any]]] = {}
    for record in router.shadow_pairs(Path(doc["home"]), doc["router"]):
        pairs.setdefault(record["shadow"], []).append(record)
    live = router.routing(doc["router"]).get("shadow", {})
    report: dict[str, Any] = {}
    for version in sorted(set(pairs) | set(live)):
        rows = pairs.get(version, [])
        n = len(rows)
        report[version] = {
            "pairs": n,
            "agreement": sum(r["equal"] for r in rows) / n if n else None,
            "primary_error_rate": sum(_failed(r["primary_status"]) for r in rows) / n
            if n
            else None,
            "shadow_error_rate": sum(_failed(r["shadow_status"]) for r in rows) / n if n else None,
            "primary_ms": _percentiles([r["primary_ms"] for r in rows]),
            "shadow_ms": _percentiles([r["shadow_ms"] for r in rows]),
            "dropped": int(live.get(version, {}).get("dropped", 0)),
        }
    return report


def _failed(status: int) -> bool:
    return not 200 <= int(status) < 500


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])

    return {"p50": at(0.50), "p99": at(0.99)}


# -- the one place routing changes ----------------------------------------------------------
def _apply_routing(
    workspace: Workspace, doc: dict[str, Any], versions: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Check, hand the router the new table, wait until it serves it, record it.

    Every traffic change (create/update/delete version, `set_traffic`, endpoint auth) ends
    here, and records an `endpoint.traffic_changed` event when the split changed."""
    check_routing(doc["name"], versions)
    revision = int(doc["revision"]) + 1
    table = _table(workspace, doc, versions, revision)
    router_of(doc).apply(Path(doc["home"]), doc["router"], table)
    previous = weights(doc["versions"]) if doc.get("versions") else None
    now = weights(versions)
    event = None
    if now != previous:  # committed with the record, so a listener never misses one
        event = endpoint_traffic_changed(doc["name"], now, previous, tags=doc.get("tags"))
    doc = {**doc, "versions": versions, "revision": revision, "updated_time": time.time()}
    workspace.store.put_document(KIND, doc["name"], doc, event=event)
    return doc


def _table(
    workspace: Workspace, doc: dict[str, Any], versions: dict[str, dict[str, Any]], revision: int
) -> RoutingTable:
    home = Path(doc["home"])
    share = weights(versions)
    upstreams = []
    for n, v in versions.items():
        service_doc = services.get_document(workspace, v["service"])
        target, record = services.target_of(service_doc), services.record_of(workspace, service_doc)
        url = target.router_url(record)
        authorization = None
        if service_doc["deployment_config"]["auth_enabled"]:
            authorization = f"Bearer {target.get_keys(record)[0]}"
        upstreams.append(
            Upstream(
                name=n,
                url=url,
                weight=share[n],
                shadow=float(v.get("shadow_percentile") or 0),
                authorization=authorization,
                control=bool(v["is_control_version"]),
            ).__dict__
        )
    return RoutingTable.from_dict(
        {
            "revision": revision,
            "endpoint": doc["name"],
            "default": default_version(versions),
            "versions": upstreams,
            "keys_file": str(home / "keys.json") if doc["auth_enabled"] else None,
            "token_secret_file": str(home / "token_secret") if doc["token_auth_enabled"] else None,
            "sink": str(home / SHADOW_SINK),
            "shadow_queue": doc["shadow"]["queue"],
            "shadow_workers": doc["shadow"]["workers"],
        }
    )


# -- helpers ------------------------------------------------------------------------------
def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidArgument(
            f"Invalid endpoint name {name!r}: use 3-32 characters, lowercase letters, digits "
            "and dashes, starting with a letter and ending with a letter or digit."
        )


def _service_name(endpoint: str, version: str) -> str:
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise InvalidArgument(
            f"Invalid version name {version!r}: use lowercase letters, digits and dashes, "
            "starting and ending with a letter or digit."
        )
    service = f"{endpoint}-{version}"
    if len(service) > 32:
        raise InvalidArgument(
            f"Version '{version}' of endpoint '{endpoint}' would run as service '{service}', "
            f"longer than 32 characters.",
            hint="Use a shorter endpoint or version name.",
        )
    return service


def _version(
    version_name: str, service: str, config: EndpointConfig, is_default: bool
) -> dict[str, Any]:
    return {
        "name": version_name,
        "service": service,
        "traffic_percentile": config.traffic_percentile
        if config.traffic_percentile is not None
        else 0,
        "is_default": is_default,
        "is_control_version": bool(config.is_control_version),
        "shadow_percentile": config.shadow_percentile
        if config.shadow_percentile is not None
        else 0,
        "tags": dict(config.tags),
        "description": config.description,
        "created_time": time.time(),
    }


def _with(
    versions: dict[str, dict[str, Any]], name: str, entry: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """`versions` with `entry` as version `name`; a new default or control takes the mark
    from the version that had it (v1: is_default=True moves the default)."""
    result = {n: dict(v) for n, v in versions.items()}
    for other in result.values():
        if entry["is_default"] and other["is_default"]:
            other["is_default"] = False
        if entry["is_control_version"] and other["is_control_version"]:
            other["is_control_version"] = False
    result[name] = entry
    return result


def default_version(versions: dict[str, dict[str, Any]]) -> str:
    return next(n for n, v in versions.items() if v["is_default"])


def _version_of(doc: dict[str, Any], version_name: str) -> dict[str, Any]:
    try:
        entry: dict[str, Any] = doc["versions"][version_name]
        return entry
    except KeyError:
        raise NotFound(
            f"Endpoint '{doc['name']}' has no version '{version_name}' "
            f"(it has: {', '.join(sorted(doc['versions']))}).",
            hint=f"See the versions with `modelport endpoint show {doc['name']}`.",
        ) from None


def version_settings(dc: DeploymentConfig) -> dict[str, Any]:
    """A deployment config's settings for a version's service (what later versions inherit
    from the first): all but its address, auth (the endpoint's) and description/tags."""
    data = dc.to_dict()
    data.pop("port", None)
    for key in ("auth_enabled", "token_auth_enabled", "description", "tags"):
        data.pop(key, None)
    return data


def _version_config(doc: dict[str, Any], dc: DeploymentConfig) -> DeploymentConfig:
    """A version's service config: its own port; key auth whenever the endpoint has any auth
    (the router calls it with the version's key), so a version is never open while its
    endpoint is closed."""
    secured = bool(doc["auth_enabled"] or doc["token_auth_enabled"])
    return dataclasses.replace(
        dc,
        port=None,
        auth_enabled=secured,
        token_auth_enabled=False,
        primary_key=None,
        secondary_key=None,
    )


def _await_service(workspace: Workspace, service: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        state, error = services.live_state(workspace, services.get_document(workspace, service))
        if state == HEALTHY:
            return
        if state != TRANSITIONING:
            raise WebserviceException(
                f"Version service '{service}' ended in state {state}: {error}",
                hint=f"See its log: modelport service logs {service}",
            )
        if time.monotonic() > deadline:
            raise WebserviceException(
                f"Version service '{service}' is not Healthy after {timeout_s:.0f}s."
            )
        time.sleep(0.05)


def _forget_service(workspace: Workspace, service: str) -> None:
    with suppress(NotFound):
        services.delete_service(workspace, service, by_endpoint=True)


def _replace_existing(workspace: Workspace, name: str, overwrite: bool) -> None:
    try:
        existing = workspace.store.get_document(KIND, name)
    except NotFound:
        return
    if existing.get("creating") and not _creator_alive(existing):
        _delete(workspace, existing)  # what a killed create left
        return
    if not overwrite:
        raise AlreadyExists(
            f"Endpoint '{name}' already exists.",
            hint="Pass overwrite=True (CLI: --overwrite) to replace it, or pick another name.",
        )
    _delete(workspace, existing)
