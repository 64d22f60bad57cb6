"""The Kubernetes objects of one service revision, as plain dicts (a pure function of its inputs).

`render(Manifest(...))` returns the Secret, Deployment, Service, PodDisruptionBudget and, when
autoscaling is on, the HorizontalPodAutoscaler. The target applies them (server-side apply);
`modelport k8s render` writes the same objects as YAML for users who apply them with their own
tools. Every object carries `LABEL_SERVICE` and `LABEL_WORKSPACE`, so one selector finds
everything of a service (the pods too: the Deployment's template carries them).

Exposure (`Manifest.exposure`), how clients reach the service:
- `load-balancer`: a Service of type LoadBalancer in front of the pods' port 5001 (real clusters).
- `cluster-ip`: a ClusterIP Service; users put their Ingress or gateway in front.
- `host-network`: pods on the node's network, every replica listening on the same
  `node_address:port` with SO_REUSEPORT (the kernel spreads connections over them; a draining
  replica's queued connections move to the others with net.ipv4.tcp_migrate_req=1). For
  clusters without a load balancer or kube-proxy, like the test cluster of scripts/start-kube.
  The port is deliberately not declared as a containerPort (the scheduler would then refuse a
  second replica on the node); probes read the scoring server's health file, because an HTTP
  probe on the shared port would reach whichever replica the kernel picks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modelport.configs import DeploymentConfig
from modelport.packaging import dockerfile
from modelport.scoring.config import ServerConfig, server_command

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_SERVICE = "modelport.io/service"
LABEL_WORKSPACE = "modelport.io/workspace"
LABEL_REVISION = "modelport.io/revision"
LABEL_PORT = "modelport.io/port"  # host-network services: the node port they share
MANAGER = "modelport"
CONTAINER = "scoring"
SECRETS_MOUNT = "/run/modelport-secrets"
RUN_MOUNT = "/run/modelport"
HEALTH_FILE = f"{RUN_MOUNT}/healthy"
DATA_COLLECTION_MOUNT = f"{dockerfile.APP_ROOT}/data-collection"
EXPOSURES = ("load-balancer", "cluster-ip", "host-network")
GRACE_S = 45  # the scoring server drains in seconds; its workers get 30 s for a slow run()
# A pod-network pod keeps serving this long after it is told to stop, before SIGTERM: its
# Service stops sending it new connections meanwhile (the Endpoints controller and kube-proxy
# take a moment; until then a pod that stopped listening resets them).
UNROUTE_S = 5


def pre_stop() -> dict[str, Any]:
    """The container's preStop hook: wait UNROUTE_S (with the image's Python: no shell tools
    assumed)."""
    python = f"{dockerfile.VENV}/bin/python"
    return {"exec": {"command": [python, "-c", f"import time; time.sleep({UNROUTE_S})"]}}


# v1's AksWebservice defaults, applied when a field is None.
V1_DEFAULTS: dict[str, Any] = {
    "autoscale_min_replicas": 1,
    "autoscale_max_replicas": 10,
    "autoscale_refresh_seconds": 1,
    "autoscale_target_utilization": 70,
    "cpu_cores": 0.1,
    "memory_gb": 0.5,
    "period_seconds": 10,
    "initial_delay_seconds": 310,
    "timeout_seconds": 2,
    "success_threshold": 1,
    "failure_threshold": 3,
    "scoring_timeout_ms": 60_000,
}


def v1(dc: DeploymentConfig, name: str) -> Any:
    """The field's value, or v1's default when it is None."""
    value = getattr(dc, name)
    return V1_DEFAULTS.get(name) if value is None else value


def autoscaling(dc: DeploymentConfig) -> bool:
    """v1: autoscaling is on unless num_replicas is given (or it is turned off)."""
    if dc.autoscale_enabled is not None:
        return dc.autoscale_enabled
    return dc.num_replicas is None


@dataclass(frozen=True)
class ApiVersions:
    """Which versions of the versioned kinds the cluster serves (by discovery); the defaults
    are current Kubernetes (1.23+)."""

    autoscaling: str = "autoscaling/v2"
    policy: str = "policy/v1"


@dataclass(frozen=True)
class Manifest:
    """Everything the objects say."""

    name: str
    namespace: str
    workspace_key: str
    revision: int
    image: str
    deployment_config: DeploymentConfig
    exposure: str = "load-balancer"
    port: int | None = None  # host-network: the shared node port
    node_address: str = "127.0.0.1"  # host-network: the address replicas listen on
    image_pull_policy: str = "IfNotPresent"
    pull_secret: str | None = None  # name of a kubernetes.io/dockerconfigjson Secret
    secret_data: dict[str, str] = field(default_factory=dict)  # file name -> content
    versions: ApiVersions = field(default_factory=ApiVersions)


def labels(name: str, workspace_key: str) -> dict[str, str]:
    return {LABEL_MANAGED_BY: MANAGER, LABEL_SERVICE: name, LABEL_WORKSPACE: workspace_key}


def selector(name: str, workspace_key: str) -> str:
    """The label selector that finds every object of the service."""
    return f"{LABEL_SERVICE}={name},{LABEL_WORKSPACE}={workspace_key}"


def secret_name(name: str) -> str:
    return f"{name}-modelport-keys"


def render(m: Manifest) -> list[dict[str, Any]]:
    """The service's objects in apply order (Secret first: the pods mount it)."""
    objects = [_secret(m), _deployment(m), _service(m), _pdb(m)]
    if autoscaling(m.deployment_config):
        objects.append(_hpa(m))
    return objects


def server_config(m: Manifest) -> ServerConfig:
    """How each replica's scoring server starts (the one launch contract, scoring/config.py)."""
    dc = m.deployment_config
    cores = dc.cpu_cores_limit or v1(dc, "cpu_cores")
    host_network = m.exposure == "host-network"
    return ServerConfig(
        host=m.node_address if host_network else "0.0.0.0",
        port=int(m.port or 0) if host_network else dockerfile.PORT,
        workers=dc.workers or max(1, int(cores)),
        scoring_timeout_ms=v1(dc, "scoring_timeout_ms"),
        max_concurrent_requests_per_container=dc.max_concurrent_requests_per_container,
        max_request_wait_time_ms=dc.max_request_wait_time,
        auth_keys_file=f"{SECRETS_MOUNT}/keys.json" if dc.auth_enabled else None,
        token_secret_file=f"{SECRETS_MOUNT}/token_secret" if dc.token_auth_enabled else None,
        service_name=m.name,
        reuse_port=host_network,
        health_file=HEALTH_FILE if host_network else None,
    )


def _meta(m: Manifest, name: str | None = None) -> dict[str, Any]:
    return {
        "name": name or m.name,
        "namespace": m.namespace,
        "labels": labels(m.name, m.workspace_key),
    }


def _secret(m: Manifest) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(m, secret_name(m.name)),
        "type": "Opaque",
        "stringData": dict(sorted(m.secret_data.items())),
    }


def _quantity_cpu(cores: float) -> str:
    return f"{round(cores * 1000)}m"


def _quantity_memory(gb: float) -> str:
    return f"{round(gb * 1024)}Mi"


def _resources(dc: DeploymentConfig) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "requests": {
            "cpu": _quantity_cpu(v1(dc, "cpu_cores")),
            "memory": _quantity_memory(v1(dc, "memory_gb")),
        }
    }
    limits = {}
    if dc.cpu_cores_limit is not None:
        limits["cpu"] = _quantity_cpu(dc.cpu_cores_limit)
    if dc.memory_gb_limit is not None:
        limits["memory"] = _quantity_memory(dc.memory_gb_limit)
    if limits:
        resources["limits"] = limits
    return resources


def _probes(m: Manifest) -> tuple[dict[str, Any], dict[str, Any]]:
    """Liveness with v1's fields exactly (initial delay 310 s, period 10 s, ...); readiness
    polls every second from the start, so a replica serves as soon as init() is done and
    leaves rotation when it stops answering (success_threshold applies here: Kubernetes
    requires 1 for liveness)."""
    dc = m.deployment_config
    if m.exposure == "host-network":
        check: dict[str, Any] = {"exec": {"command": ["test", "-e", HEALTH_FILE]}}
    else:
        check = {"httpGet": {"path": "/", "port": "http"}}
    liveness = {
        **check,
        "initialDelaySeconds": v1(dc, "initial_delay_seconds"),
        "periodSeconds": v1(dc, "period_seconds"),
        "timeoutSeconds": v1(dc, "timeout_seconds"),
        "successThreshold": 1,
        "failureThreshold": v1(dc, "failure_threshold"),
    }
    readiness = {
        **check,
        "periodSeconds": 1,
        "timeoutSeconds": v1(dc, "timeout_seconds"),
        "successThreshold": v1(dc, "success_threshold"),
        "failureThreshold": v1(dc, "failure_threshold"),
    }
    return liveness, readiness


def _deployment(m: Manifest) -> dict[str, Any]:
    dc = m.deployment_config
    liveness, readiness = _probes(m)
    pod_labels = {**labels(m.name, m.workspace_key), LABEL_REVISION: str(m.revision)}
    env = {**dc.environment_variables, "SERVICE_NAME": m.name}
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": m.image,
        "imagePullPolicy": m.image_pull_policy,
        "command": server_command(server_config(m)),
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "resources": _resources(dc),
        "livenessProbe": liveness,
        "readinessProbe": readiness,
        "volumeMounts": [
            {"name": "secrets", "mountPath": SECRETS_MOUNT, "readOnly": True},
            {"name": "run", "mountPath": RUN_MOUNT},
            {"name": "data-collection", "mountPath": DATA_COLLECTION_MOUNT},
        ],
    }
    pod: dict[str, Any] = {
        "terminationGracePeriodSeconds": GRACE_S,
        "containers": [container],
        "volumes": [
            {"name": "secrets", "secret": {"secretName": secret_name(m.name)}},
            {"name": "run", "emptyDir": {}},
            {"name": "data-collection", "emptyDir": {}},
        ],
    }
    if m.exposure == "host-network":  # a replica leaves by its socket (SO_REUSEPORT): no wait
        pod["hostNetwork"] = True
        pod["dnsPolicy"] = "ClusterFirstWithHostNet"
    else:
        container["ports"] = [{"name": "http", "containerPort": dockerfile.PORT}]
        container["lifecycle"] = {"preStop": pre_stop()}
        pod["terminationGracePeriodSeconds"] = GRACE_S + UNROUTE_S
    if m.pull_secret:
        pod["imagePullSecrets"] = [{"name": m.pull_secret}]
    meta = _meta(m)
    meta["annotations"] = {"modelport.io/revision": str(m.revision)}
    if m.exposure == "host-network":
        meta["labels"] = {**meta["labels"], LABEL_PORT: str(m.port)}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels(m.name, m.workspace_key)},
        "revisionHistoryLimit": 3,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": {"metadata": {"labels": pod_labels}, "spec": pod},
    }
    if not autoscaling(dc):  # with an autoscaler it owns the replica count
        spec["replicas"] = dc.num_replicas or 1
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def _service(m: Manifest) -> dict[str, Any]:
    port: dict[str, Any] = {"name": "http", "port": 80, "protocol": "TCP"}
    if m.exposure == "host-network":
        port["targetPort"] = int(m.port or 0)  # the pods' address is the node's
    else:
        port["targetPort"] = "http"
    spec: dict[str, Any] = {
        "type": "LoadBalancer" if m.exposure == "load-balancer" else "ClusterIP",
        "selector": labels(m.name, m.workspace_key),
        "ports": [port],
    }
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(m), "spec": spec}


def _pdb(m: Manifest) -> dict[str, Any]:
    """At most one replica evicted at a time (a drain never takes two at once; a single
    replica can still be moved, which `minAvailable: 1` would block forever)."""
    return {
        "apiVersion": m.versions.policy,
        "kind": "PodDisruptionBudget",
        "metadata": _meta(m),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels(m.name, m.workspace_key)}},
    }


def _hpa(m: Manifest) -> dict[str, Any]:
    return hpa(_meta(m), m.deployment_config, m.versions.autoscaling)


def hpa(meta: dict[str, Any], dc: DeploymentConfig, api_version: str) -> dict[str, Any]:
    """CPU-utilization autoscaling of the Deployment named like `meta` between v1's min and
    max; `autoscale_refresh_seconds` is the period of the scaling policies (the controller's
    own sync period is the cluster's)."""
    period = v1(dc, "autoscale_refresh_seconds")
    policy = {"policies": [{"type": "Percent", "value": 100, "periodSeconds": period}]}
    return {
        "apiVersion": api_version,
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"]},
            "minReplicas": v1(dc, "autoscale_min_replicas"),
            "maxReplicas": v1(dc, "autoscale_max_replicas"),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": v1(dc, "autoscale_target_utilization"),
                        },
                    },
                }
            ],
            "behavior": {"scaleUp": policy, "scaleDown": policy},
        },
    }


def pull_secret_name(name: str) -> str:
    return f"{name}-modelport-pull"


def pull_secret(m: Manifest, server: str, user: str, password: str) -> dict[str, Any]:
    """A kubernetes.io/dockerconfigjson Secret with the workspace registry's credentials."""
    return registry_secret(_meta(m, pull_secret_name(m.name)), server, user, password)


def registry_secret(meta: dict[str, Any], server: str, user: str, password: str) -> dict[str, Any]:
    """A kubernetes.io/dockerconfigjson Secret named and labelled by `meta`."""
    import base64

    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = {"auths": {server: {"username": user, "password": password, "auth": auth}}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": json.dumps(config)},
    }
