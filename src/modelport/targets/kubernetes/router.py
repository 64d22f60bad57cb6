"""An endpoint's router on the cluster: the same `modelport.routing` router, as a Deployment.

The router pod runs the default version's image (it holds modelport, so `python -m
modelport.routing`; nothing new to build or ship). Its Secret
(`<endpoint>-router-modelport-keys`) holds the routing table as the pod sees it, the
endpoint's keys and token secret and the router's admin token; the pod copies them into its
own folder (an emptyDir) at start, so a restarted pod serves the last table. A change is
applied twice: the Secret is updated (for a restart) and the table with the credential files
is PUT to the running router's `/-/table` with the admin token (for now); the call returns
once `/-/routing` reports the new revision. `/-/routing` counts
requests in flight per version, so a removed or zero-weight version is drained first.

Exposure: host-network only for now (the test cluster's: no kube-proxy, no cluster DNS).
The router pod is on the node's network, listens on the compute's `node_address` and the
endpoint's port, and reaches each version at its own `node_address:port` (the version's
scoring URI). One replica (`Recreate`: two pods cannot hold the port in turn). The shadow
pair log stays in the pod (`/run/modelport-routing/shadow.jsonl`); the shadow report shows
the router's live counters.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from modelport import settings
from modelport._jsonfile import read_json, write_json
from modelport._net import client_host
from modelport.deploy import credentials
from modelport.deploy.computes import ComputeRecord, compute_for
from modelport.deploy.routers import RouterHost
from modelport.errors import DeploymentError, InvalidArgument
from modelport.packaging.dockerfile import VENV
from modelport.packaging.engine import workspace_key
from modelport.routing.app import PUSHED_FILES
from modelport.routing.table import TABLE, RoutingTable, read_table, write_table
from modelport.targets.kubernetes import manifests, status
from modelport.targets.kubernetes.cluster import Cluster, connected, unused_port

STATE = "kube-router.json"  # in the endpoint's home: where its router runs
ADMIN_TOKEN = "router_admin_token"  # in the endpoint's home, and in the router's Secret
LABEL_ENDPOINT = "modelport.io/endpoint"
SECRET_MOUNT = "/run/modelport-router"
FOLDER = "/run/modelport-routing"
CONTAINER = "router"


def router_name(endpoint: str) -> str:
    return f"{endpoint}-router"


def labels(endpoint: str, key: str) -> dict[str, str]:
    return {**manifests.labels(router_name(endpoint), key), LABEL_ENDPOINT: endpoint}


def selector(endpoint: str, key: str) -> str:
    return manifests.selector(router_name(endpoint), key)


def pod_table(table: RoutingTable) -> dict[str, Any]:
    """The table with the pod's paths for the files the router reads and writes."""
    data = table.to_dict()
    data["keys_file"] = f"{FOLDER}/keys.json" if table.keys_file else None
    data["token_secret_file"] = f"{FOLDER}/token_secret" if table.token_secret_file else None
    data["sink"] = f"{FOLDER}/shadow.jsonl"
    data["admin_token_file"] = f"{SECRET_MOUNT}/{ADMIN_TOKEN}"
    return data


def render(
    endpoint: str,
    namespace: str,
    key: str,
    image: str,
    pull_policy: str,
    pull_secret: str | None,
    node_address: str,
    port: int,
    secret_data: dict[str, str],
) -> list[dict[str, Any]]:
    """The router's Secret, Deployment and Service (apply order), plain dicts."""
    name = router_name(endpoint)

    def meta(object_name: str) -> dict[str, Any]:
        return {"name": object_name, "namespace": namespace, "labels": labels(endpoint, key)}

    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(manifests.secret_name(name)),
        "type": "Opaque",
        "stringData": dict(sorted(secret_data.items())),
    }
    url = f"http://{client_host(node_address)}:{port}/"
    probe = {
        "exec": {
            "command": [
                f"{VENV}/bin/python",
                "-c",
                f"import urllib.request; urllib.request.urlopen({url!r}, timeout=5)",
            ]
        },
        "periodSeconds": 5,  # a Python start per probe: cheap enough at one pod
        "timeoutSeconds": 10,
        "failureThreshold": 3,
    }
    start = (  # the table and credentials into the router's writable folder, then the router
        f"cp -L {SECRET_MOUNT}/* {FOLDER}/ && exec {VENV}/bin/python -m "
        f"modelport.routing {FOLDER} {node_address} {port} 1"
    )
    container = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": pull_policy,
        "command": ["sh", "-c", start],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        "readinessProbe": probe,
        "livenessProbe": {**probe, "initialDelaySeconds": 30, "periodSeconds": 10},
        "volumeMounts": [
            {"name": "secrets", "mountPath": SECRET_MOUNT, "readOnly": True},
            {"name": "routing", "mountPath": FOLDER},
        ],
    }
    pod: dict[str, Any] = {
        "hostNetwork": True,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "terminationGracePeriodSeconds": 80,  # the router drains in-flight requests first
        "containers": [container],
        "volumes": [
            {"name": "secrets", "secret": {"secretName": manifests.secret_name(name)}},
            {"name": "routing", "emptyDir": {}},
        ],
    }
    if pull_secret:
        pod["imagePullSecrets"] = [{"name": pull_secret}]
    deployment_meta = meta(name)
    deployment_meta["labels"] = {**deployment_meta["labels"], manifests.LABEL_PORT: str(port)}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": deployment_meta,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": manifests.labels(name, key)},
            "strategy": {"type": "Recreate"},  # one pod holds the node port at a time
            "template": {"metadata": {"labels": labels(endpoint, key)}, "spec": pod},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name),
        "spec": {
            "type": "ClusterIP",
            "selector": manifests.labels(name, key),
            "ports": [{"name": "http", "port": 80, "targetPort": port, "protocol": "TCP"}],
        },
    }
    return [secret, deployment, service]


class KubernetesRouter(RouterHost):
    """The endpoint's router as a Deployment on the versions' compute."""

    def place(
        self, host: str, port: int | None, workspace: Any = None, deployment_config: Any = None
    ) -> dict[str, Any]:
        dc = deployment_config
        compute = compute_for(workspace, "kubernetes", dc.compute_target)
        exposure = str(compute.extra.get("exposure") or "load-balancer")
        if exposure != "host-network":
            raise InvalidArgument(
                f"Endpoints on Kubernetes run on host-network computes for now; compute "
                f"'{compute.name}' uses exposure={exposure!r}.",
                hint="Attach the cluster with exposure='host-network', or deploy single "
                "KubernetesWebservices behind your own gateway.",
            )
        address = str(compute.extra.get("node_address") or "127.0.0.1")
        return {
            "compute": compute.name,
            "kubeconfig": compute.kubeconfig,
            "context": compute.context,
            "namespace": dc.namespace or compute.namespace or "default",
            "workspace_key": workspace_key(str(workspace.path)),
            "host": address,
            "port": port or unused_port(connected(compute), address),
        }

    def start(self, home: Path, data: dict[str, Any], table: RoutingTable) -> None:
        write_json(home / STATE, {**data, "endpoint": table.endpoint}, private=True)
        write_table(home, table)
        if not (home / ADMIN_TOKEN).exists():
            (home / ADMIN_TOKEN).write_text(credentials.new_token_secret())
            (home / ADMIN_TOKEN).chmod(0o600)
        cluster, ns = _connect(data), data["namespace"]
        version = cluster.get("Deployment", ns, f"{table.endpoint}-{table.default}")
        if version is None:
            raise DeploymentError(f"Version '{table.default}' has no Deployment on the cluster.")
        spec = version["spec"]["template"]["spec"]
        scoring = spec["containers"][0]
        pull = None
        for ref in spec.get("imagePullSecrets") or []:  # the router's own copy of it
            found = cluster.get("Secret", ns, ref["name"])
            if found is not None:
                pull = manifests.pull_secret_name(router_name(table.endpoint))
                cluster.apply(
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "type": found["type"],
                        "metadata": {
                            "name": pull,
                            "namespace": ns,
                            "labels": labels(table.endpoint, data["workspace_key"]),
                        },
                        "data": found["data"],
                    }
                )
        objects = render(
            table.endpoint,
            ns,
            data["workspace_key"],
            scoring["image"],
            scoring.get("imagePullPolicy", "IfNotPresent"),
            pull,
            data["host"],
            int(data["port"]),
            _secret_data(home, table),
        )
        for obj in objects:
            cluster.apply(obj)
        self._await_revision(data, table.endpoint, table.revision, cluster, ready=True)

    def apply(self, home: Path, data: dict[str, Any], table: RoutingTable) -> None:
        import httpx

        cluster = _connect(data)
        secret = render(
            table.endpoint,
            data["namespace"],
            data["workspace_key"],
            "",
            "",
            None,
            data["host"],
            int(data["port"]),
            _secret_data(home, table),
        )[0]
        cluster.apply(secret)  # a pod started from now on reads this table
        write_table(home, table)  # what the router was last handed (credentials_changed)
        token = (home / ADMIN_TOKEN).read_text().strip()
        files = {n: v for n, v in _secret_data(home, table).items() if n in PUSHED_FILES}
        try:
            answer = httpx.put(
                f"{self.base_url(data)}/-/table",
                content=json.dumps({"table": pod_table(table), "files": files}),
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        except httpx.HTTPError as exc:
            raise DeploymentError(
                f"The endpoint's router on the cluster does not answer: {exc}"
            ) from None
        if answer.status_code != 202:
            raise DeploymentError(
                f"The endpoint's router refused routing revision {table.revision}: "
                f"{answer.status_code} {answer.text[:200]}"
            )
        self._await_revision(data, table.endpoint, table.revision, cluster)

    def credentials_changed(self, home: Path, data: dict[str, Any]) -> None:
        """A regenerated key: the same table again with the new files (rejected from the
        router's next request on)."""
        self.apply(home, data, read_table(home))

    def state(self, home: Path) -> tuple[str, str | None]:
        data = read_json(home / STATE)
        if not data:
            return "Unhealthy", "the endpoint's router was never started"
        cluster = _connect(data)
        name = router_name(data["endpoint"])
        deployment = cluster.get("Deployment", data["namespace"], name)
        if deployment is None:
            return "Unhealthy", f"the router's Deployment {name} is gone"
        if status.rolled_out(deployment):
            return "Healthy", None  # ready: its probe reached the router on its address
        for pod in cluster.items(
            "Pod", data["namespace"], selector(data["endpoint"], data["workspace_key"])
        ):
            problem = status.pod_problem(cluster, pod)
            if problem is not None:
                return "Unhealthy", problem[1]
        return "Unhealthy", "the router's pod is not ready"

    def stop(self, home: Path) -> None:
        """Delete every object of the router, pods included (they drain first)."""
        data = read_json(home / STATE)
        if not data:
            return
        cluster, ns = _connect(data), data["namespace"]
        chosen = selector(data["endpoint"], data["workspace_key"])
        cluster.delete_labelled(ns, chosen)
        deadline = time.monotonic() + 180
        while cluster.remaining(ns, chosen):
            if time.monotonic() > deadline:
                left = ", ".join(cluster.remaining(ns, chosen))
                raise DeploymentError(f"Deleting the endpoint's router left {left}.")
            time.sleep(0.5)

    def base_url(self, data: dict[str, Any]) -> str:
        return f"http://{client_host(data['host'])}:{data['port']}"

    def _await_revision(
        self,
        data: dict[str, Any],
        endpoint: str,
        revision: int,
        cluster: Cluster,
        ready: bool = False,
    ) -> None:
        """Until the router serves `revision` (and, with `ready`, its pod is Ready too)."""
        timeout = float(settings.get("MODELPORT_READY_TIMEOUT_S"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if int(self.routing(data).get("revision", -1)) >= revision and (
                not ready or _ready(cluster, data["namespace"], endpoint)
            ):
                return
            for pod in cluster.items(
                "Pod", data["namespace"], selector(endpoint, data["workspace_key"])
            ):
                problem = status.pod_problem(cluster, pod)
                if problem is not None and problem[0] == "Failed":
                    raise DeploymentError(f"The endpoint's router cannot start: {problem[1]}")
            time.sleep(0.2)
        raise DeploymentError(
            f"The endpoint's router did not serve routing revision {revision} within "
            f"{timeout:.0f}s.",
            hint="See its pod: kubectl get pods -l modelport.io/endpoint",
        )


def _ready(cluster: Cluster, namespace: str, endpoint: str) -> bool:
    deployment = cluster.get("Deployment", namespace, router_name(endpoint))
    return deployment is not None and status.rolled_out(deployment)


def _connect(data: dict[str, Any]) -> Cluster:
    record = ComputeRecord(
        data["compute"],
        kubeconfig=data.get("kubeconfig"),
        context=data.get("context"),
        namespace=data["namespace"],
    )
    return connected(record)


def _secret_data(home: Path, table: RoutingTable) -> dict[str, str]:
    data = {TABLE: json.dumps(pod_table(table)), ADMIN_TOKEN: (home / ADMIN_TOKEN).read_text()}
    for name in ("keys.json", "token_secret"):
        if (home / name).exists():
            data[name] = (home / name).read_text()
    return data
