"""An endpoint's router on the cluster: the same `modelport.routing` router, as a Deployment.

The router pods run the default version's image (it holds modelport, so `python -m
modelport.routing`; nothing new to build or ship). Their Secret
(`<endpoint>-router-modelport-keys`) holds the routing table as a pod sees it, the
endpoint's keys and token secret and the router's admin token; a pod copies them into its
own folder (an emptyDir) at start, so a pod that starts later serves the last table. A change
is applied twice: the Secret is updated (for pods that start from now on), then the table
with the credential files is PUT to `/-/table` of **every** router pod, and the call returns
once each reports the new revision on `/-/routing` (a pod that answers with an older one,
having started from the Secret before it changed, is handed the table too). `/-/routing`
counts requests in flight per version; summed over the pods, a removed or zero-weight
version is drained first.

How the control plane reaches the pods (the admin calls: table, routing, counters, shadow
pairs) follows the compute's exposure:
- `host-network`: the pod is on the node's network, listens on the compute's
  `node_address` and the endpoint's port, and is reached there (and reaches each version at
  its own `node_address:port`). One replica only: pods sharing the port with SO_REUSEPORT
  could not be told apart by an admin call (the kernel picks one), so a table could not be
  known to have reached each.
- `cluster-ip`, `load-balancer`: pods on the pod network, each on its own IP, listening on
  port 5001, behind a ClusterIP or LoadBalancer Service (port 80); admin calls go to each pod
  by name through the API server's pod proxy (no route from here to the pods needed), the
  router reaches versions at their Services' ClusterIPs, and clients reach the
  endpoint where they reach a service on that compute (`addresses.service_url`). Any number
  of replicas (`router_replicas`, or an autoscaler up to `router_max_replicas`), rolled with
  `maxUnavailable: 0`. (v1's `num_replicas` and `autoscale_*` size the versions, as on AKS.)

Shadow pairs: where the compute's pods share this machine's folders (`storage.shared`), each
router pod writes them into its own subfolder of the endpoint's folder (hostPath), so they
outlive the pod and are read from here; elsewhere they live in the pod's folder and are asked
of each pod (`GET /-/shadow`).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

from modelport import settings
from modelport._jsonfile import read_json, write_json
from modelport.configs import DeploymentConfig
from modelport.deploy import credentials
from modelport.deploy.computes import ComputeRecord, compute_for
from modelport.deploy.routers import RouterHost
from modelport.errors import DeploymentError, InvalidArgument
from modelport.packaging.dockerfile import PORT as POD_PORT
from modelport.packaging.dockerfile import VENV
from modelport.packaging.engine import workspace_key
from modelport.routing.app import ADMIN_HEADER, PUSHED_FILES
from modelport.routing.metrics import RouterMetrics
from modelport.routing.shadow import read_pairs
from modelport.routing.table import TABLE, RoutingTable, read_table, write_table
from modelport.targets.kubernetes import addresses, manifests, status, storage
from modelport.targets.kubernetes.cluster import ApiError, Cluster, connected, unused_port

STATE = "kube-router.json"  # in the endpoint's home: where its router runs
ADMIN_TOKEN = "router_admin_token"  # in the endpoint's home, and in the router's Secret
LABEL_ENDPOINT = "modelport.io/endpoint"
SECRET_MOUNT = "/run/modelport-router"
FOLDER = "/run/modelport-routing"
SHADOW_LINK = f"{FOLDER}/shadow"  # the pod's shadow pairs: its own folder, or one in the host's
SHADOW_PODS = "shadow/pods"  # in the endpoint's home: a folder per router pod (shared storage)
CONTAINER = "router"
HOST_NETWORK = "host-network"


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
    data["sink"] = f"{SHADOW_LINK}/shadow.jsonl"
    data["admin_token_file"] = f"{SECRET_MOUNT}/{ADMIN_TOKEN}"
    return data


def autoscale(replicas: int, max_replicas: int | None) -> dict[str, Any] | None:
    """The router's autoscaling, only with `router_max_replicas`: between `router_replicas`
    and that many pods at v1's 70% CPU (v1's `autoscale_*` keywords size the versions)."""
    if max_replicas is None:
        return None
    return {
        "autoscale_enabled": True,
        "autoscale_min_replicas": replicas,
        "autoscale_max_replicas": max_replicas,
    }


def render(
    endpoint: str,
    namespace: str,
    key: str,
    image: str,
    pull_policy: str,
    pull_secret: str | None,
    exposure: str,
    node_address: str,
    port: int,
    secret_data: dict[str, str],
    replica_count: int = 1,
    scaling: dict[str, Any] | None = None,
    autoscaling_api: str = "autoscaling/v2",
    shadow_folder: str | None = None,
    run_as: tuple[int, int] | None = None,
) -> list[dict[str, Any]]:
    """The router's Secret, Deployment and Service, and with `scaling` (`autoscale()`, off
    host-network) a HorizontalPodAutoscaler (apply order), plain dicts. With `shadow_folder`
    (a folder of this machine the pods share, at the same path) each pod keeps its shadow
    pairs in a subfolder named after it there, as `run_as` (this machine's uid, gid), so
    they outlive the pod."""
    name = router_name(endpoint)
    host_network = exposure == HOST_NETWORK

    def meta(object_name: str) -> dict[str, Any]:
        return {"name": object_name, "namespace": namespace, "labels": labels(endpoint, key)}

    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(manifests.secret_name(name)),
        "type": "Opaque",
        "stringData": dict(sorted(secret_data.items())),
    }
    timing = {"periodSeconds": 5, "timeoutSeconds": 10, "failureThreshold": 3}
    probe: dict[str, Any]
    if host_network:  # the node's address: no HTTP probe there from the kubelet's side
        url = f"{addresses.node_url(node_address, port)}/"
        probe = {
            "exec": {
                "command": [
                    f"{VENV}/bin/python",
                    "-c",
                    f"import urllib.request; urllib.request.urlopen({url!r}, timeout=5)",
                ]
            },
            **timing,  # a Python start per probe: cheap enough at one pod
        }
        listen = f"{node_address} {port}"
    else:
        probe = {"httpGet": {"path": "/", "port": "http"}, **timing}
        listen = f"0.0.0.0 {POD_PORT}"
    start = (  # the table and credentials into the router's writable folder, then the router
        f"cp -L {SECRET_MOUNT}/* {FOLDER}/ && exec {VENV}/bin/python -m "
        f"modelport.routing {FOLDER} {listen} 1"
    )
    if shadow_folder:
        own = f'"{shadow_folder}/$POD_NAME"'
        start = f"mkdir -p {own} && ln -sfn {own} {SHADOW_LINK} && {start}"
    container: dict[str, Any] = {
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
        "terminationGracePeriodSeconds": 80,  # the router drains in-flight requests first
        "containers": [container],
        "volumes": [
            {"name": "secrets", "secret": {"secretName": manifests.secret_name(name)}},
            {"name": "routing", "emptyDir": {}},
        ],
    }
    if shadow_folder:
        container["env"] = [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
        ]
        container["volumeMounts"].append({"name": "shadow", "mountPath": shadow_folder})
        pod["volumes"].append(
            {"name": "shadow", "hostPath": {"path": shadow_folder, "type": "Directory"}}
        )
        if run_as is not None:
            pod["securityContext"] = {"runAsUser": run_as[0], "runAsGroup": run_as[1]}
    if host_network:
        pod.update(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet")
    else:
        container["ports"] = [{"name": "http", "containerPort": POD_PORT}]
        container["lifecycle"] = {"preStop": manifests.pre_stop()}
        pod["terminationGracePeriodSeconds"] += manifests.UNROUTE_S
    if pull_secret:
        pod["imagePullSecrets"] = [{"name": pull_secret}]
    deployment_meta = meta(name)
    strategy: dict[str, Any] = {  # pods on their own IPs: new ones ready before old ones go
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    if host_network:
        deployment_meta["labels"] = {**deployment_meta["labels"], manifests.LABEL_PORT: str(port)}
        strategy = {"type": "Recreate"}  # one pod holds the node port at a time
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": manifests.labels(name, key)},
        "strategy": strategy,
        "template": {"metadata": {"labels": labels(endpoint, key)}, "spec": pod},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": deployment_meta,
        "spec": deployment_spec,
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name),
        "spec": {
            "type": "LoadBalancer" if exposure == "load-balancer" else "ClusterIP",
            "selector": manifests.labels(name, key),
            "ports": [
                {
                    "name": "http",
                    "port": 80,
                    "targetPort": port if host_network else "http",
                    "protocol": "TCP",
                }
            ],
        },
    }
    objects = [secret, deployment, service]
    if scaling and not host_network:  # the autoscaler owns the replica count
        dc = DeploymentConfig.from_dict({"compute_type": "kubernetes", **scaling})
        objects.append(manifests.hpa(meta(name), dc, autoscaling_api))
    else:
        deployment_spec["replicas"] = 1 if host_network else replica_count
    return objects


class KubernetesRouter(RouterHost):
    """The endpoint's router as a Deployment on the versions' compute."""

    def place(
        self,
        host: str,
        port: int | None,
        workspace: Any = None,
        deployment_config: Any = None,
        replicas: int = 1,
        max_replicas: int | None = None,
    ) -> dict[str, Any]:
        dc = deployment_config
        compute = compute_for(workspace, "kubernetes", dc.compute_target)
        exposure = str(compute.extra.get("exposure") or "load-balancer")
        if exposure not in manifests.EXPOSURES:
            raise InvalidArgument(
                f"Compute '{compute.name}': exposure={exposure!r} is not valid: must be "
                f"{', '.join(manifests.EXPOSURES)}."
            )
        scaling = autoscale(replicas, max_replicas)
        data: dict[str, Any] = {
            "compute": compute.name,
            "kubeconfig": compute.kubeconfig,
            "context": compute.context,
            "namespace": dc.namespace or compute.namespace or "default",
            "workspace_key": workspace_key(str(workspace.path)),
            "exposure": exposure,
            "replicas": replicas,
            "autoscale": scaling,
            "shared_storage": storage.shared(compute),
        }
        if exposure == HOST_NETWORK:
            if replicas > 1 or scaling:
                asked = (
                    f"router_max_replicas={max_replicas}"
                    if scaling
                    else f"router_replicas={replicas}"
                )
                warnings.warn(
                    f"Ignoring {asked}: an endpoint on host-network compute "
                    f"'{compute.name}' runs one router pod (pods sharing the node's port could "
                    "not each be handed a new routing table); attach the cluster with "
                    "exposure='cluster-ip' or 'load-balancer' for more.",
                    UserWarning,
                    stacklevel=2,
                )
                data["replicas"], data["autoscale"] = 1, None
            address = str(compute.extra.get("node_address") or "127.0.0.1")
            data["host"] = address
            data["port"] = port or unused_port(connected(compute), address)
            return data
        if port:
            warnings.warn(
                f"Ignoring port={port}: an endpoint on {exposure} compute '{compute.name}' "
                "is reached through its Service (port 80), not a node port.",
                UserWarning,
                stacklevel=2,
            )
        data["public_url"] = compute.extra.get("public_url")
        return data

    def start(self, home: Path, data: dict[str, Any], table: RoutingTable) -> None:
        data["endpoint"] = table.endpoint  # recorded with the endpoint: its pods' labels
        if data.get("shared_storage"):  # shadow pairs kept here, beyond the pods' lives
            (home / SHADOW_PODS).mkdir(parents=True, exist_ok=True)
            data["shadow_folder"] = str(home / SHADOW_PODS)
            data["run_as"] = [os.getuid(), os.getgid()]
        write_json(home / STATE, data, private=True)
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
        objects = _render(
            data, table.endpoint, _secret_data(home, table), scoring["image"],
            scoring.get("imagePullPolicy", "IfNotPresent"), pull, cluster.versions().autoscaling,
        )  # fmt: skip
        for obj in objects:
            cluster.apply(obj)
        self._hand_over(home, data, table, cluster, ready=True)

    def apply(self, home: Path, data: dict[str, Any], table: RoutingTable) -> None:
        cluster = _connect(data)
        secret = _render(data, table.endpoint, _secret_data(home, table))[0]
        cluster.apply(secret)  # a pod started from now on reads this table
        write_table(home, table)  # what the router was last handed (credentials_changed)
        self._hand_over(home, data, table, cluster)

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
            if problem is not None and not pod["metadata"].get("deletionTimestamp"):
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
        if data.get("exposure", HOST_NETWORK) == HOST_NETWORK:
            return addresses.node_url(data["host"], data["port"])
        return addresses.service_url(
            _connect(data), data["namespace"], router_name(data["endpoint"]),
            data["exposure"], data.get("public_url"),
        )  # fmt: skip

    # -- every pod's answers, summed --------------------------------------------------------
    def routing(self, data: dict[str, Any]) -> dict[str, Any]:
        """The pods' `/-/routing` in one: the lowest revision any live pod serves (so
        "revision >= N" means every pod serves N), in-flight and shadow counts summed over
        every pod that answers (a terminating one still finishing requests included);
        {} when none answers."""
        answers = [a for a in self._pod_routings(data).values() if a["answer"]]
        if not answers:
            return {}
        merged = dict(answers[-1]["answer"])
        live = [int(a["answer"].get("revision", -1)) for a in answers if not a["leaving"]]
        merged["revision"] = min(live) if live else -1
        merged["pods"] = len(answers)
        in_flight: dict[str, int] = {}
        shadow: dict[str, dict[str, int]] = {}
        for a in answers:
            for version, n in a["answer"].get("in_flight", {}).items():
                in_flight[version] = in_flight.get(version, 0) + int(n)
            for version, counts in a["answer"].get("shadow", {}).items():
                into = shadow.setdefault(version, {})
                for k, n in counts.items():
                    into[k] = into.get(k, 0) + int(n)
        merged.update(in_flight=in_flight, shadow=shadow)
        return merged

    def metrics(self, data: dict[str, Any]) -> bytes:
        """The router's Prometheus text summed over its pods (each pod's `/-/counters`)."""
        total = RouterMetrics()
        for pod, _ in self._pods(data):
            answer = self._ask(data, pod, "GET", "/-/counters")
            if answer is not None:
                total.absorb(answer.get("metrics", {}))
                for version, n in answer.get("in_flight", {}).items():
                    total.in_flight[version] += int(n)
        return total.render()

    def shadow_pairs(self, home: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
        """Every router pod's shadow pairs: read from the endpoint's folder on shared
        storage (those of pods that are gone included), else asked of each pod (a pod that
        is gone took its pairs with it)."""
        pairs: list[dict[str, Any]] = []
        if data.get("shadow_folder"):
            for folder in sorted(Path(data["shadow_folder"]).glob("*/")):
                pairs.extend(read_pairs(folder / "shadow.jsonl"))
            return sorted(pairs, key=lambda p: float(p.get("time", 0)))
        for pod, _ in self._pods(data):
            answer = self._ask(data, pod, "GET", "/-/shadow", token=_token(home))
            if answer is not None:
                pairs.extend(answer.get("pairs", []))
        return sorted(pairs, key=lambda p: float(p.get("time", 0)))

    # -- reaching the pods -----------------------------------------------------------------
    def _pods(self, data: dict[str, Any]) -> list[tuple[str | None, bool]]:
        """(pod, leaving) for each router pod that may answer: on host-network the one at
        the node address (None: reached directly); else each Running pod with an IP, by
        name (leaving: being deleted, still finishing requests)."""
        if data.get("exposure", HOST_NETWORK) == HOST_NETWORK:
            return [(None, False)]
        cluster = _connect(data)
        pods = cluster.items(
            "Pod", data["namespace"], selector(data["endpoint"], data["workspace_key"])
        )
        return [
            (p["metadata"]["name"], bool(p["metadata"].get("deletionTimestamp")))
            for p in pods
            if (p.get("status") or {}).get("phase") == "Running"
            and (p.get("status") or {}).get("podIP")
        ]

    def _ask(
        self,
        data: dict[str, Any],
        pod: str | None,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        expect: int = 200,
    ) -> Any:
        """One admin call to one router pod; its JSON answer, or None when it does not
        answer as expected (starting, gone)."""
        headers = {ADMIN_HEADER.decode(): token} if token else {}
        if pod is None:
            import httpx

            try:
                r = httpx.request(
                    method, f"{self.base_url(data)}{path}", headers=headers, timeout=30,
                    content=None if body is None else json.dumps(body),
                )  # fmt: skip
            except httpx.HTTPError:
                return None
            code, content = r.status_code, r.content
        else:
            try:
                code, content = _connect(data).pod_proxy(
                    method, data["namespace"], pod, POD_PORT, path, body, headers
                )
            except (ApiError, DeploymentError):
                return None
        if code != expect:
            if code == 401 or (code == 400 and method == "PUT"):
                raise DeploymentError(
                    f"The endpoint's router refused {method} {path}: {code} {content[:200]!r}"
                )
            return None
        try:
            return json.loads(content)
        except ValueError:
            return None

    def _pod_routings(self, data: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
        return {
            pod: {"leaving": leaving, "answer": self._ask(data, pod, "GET", "/-/routing") or {}}
            for pod, leaving in self._pods(data)
        }

    def _hand_over(
        self,
        home: Path,
        data: dict[str, Any],
        table: RoutingTable,
        cluster: Cluster,
        ready: bool = False,
    ) -> None:
        """Until every router pod serves `table` (and, with `ready`, the Deployment is
        rolled out). Each live pod that answers is PUT the table and its credential files
        (once, and again while it answers with an older revision); one that does not answer
        yet is waited for. At start the pods read the table from the Secret (`ready`)."""
        token = _token(home)
        files = {n: v for n, v in _secret_data(home, table).items() if n in PUSHED_FILES}
        body = {"table": pod_table(table), "files": files}
        handed: set[str | None] = set()
        timeout = float(settings.get("MODELPORT_READY_TIMEOUT_S"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            routings = self._pod_routings(data)
            behind = [
                pod
                for pod, r in routings.items()
                if not r["leaving"] and int(r["answer"].get("revision", -1)) < table.revision
            ]
            for pod, r in routings.items():
                # each answering pod gets the table once (its files may be new at the same
                # revision: a regenerated key), and again while it serves an older one
                if r["answer"] and not r["leaving"] and (pod in behind or pod not in handed):
                    self._ask(data, pod, "PUT", "/-/table", body, token=token, expect=202)
                    handed.add(pod)
            live = [p for p, r in routings.items() if not r["leaving"]]
            if (
                live
                and not behind
                and (not ready or _ready(cluster, data["namespace"], table.endpoint))
            ):
                return
            for item in cluster.items(
                "Pod", data["namespace"], selector(table.endpoint, data["workspace_key"])
            ):
                if item["metadata"].get("deletionTimestamp"):
                    continue  # going anyway: how it ends is no reason to fail the change
                problem = status.pod_problem(cluster, item)
                if problem is not None and problem[0] == "Failed":
                    raise DeploymentError(f"The endpoint's router cannot start: {problem[1]}")
            time.sleep(0.2)
        raise DeploymentError(
            f"The endpoint's router did not serve routing revision {table.revision} on every "
            f"pod within {timeout:.0f}s.",
            hint="See its pods: kubectl get pods -l modelport.io/endpoint",
        )


def _render(
    data: dict[str, Any],
    endpoint: str,
    secret_data: dict[str, str],
    image: str = "",
    pull_policy: str = "",
    pull_secret: str | None = None,
    autoscaling_api: str = "autoscaling/v2",
) -> list[dict[str, Any]]:
    return render(
        endpoint, data["namespace"], data["workspace_key"], image, pull_policy, pull_secret,
        data.get("exposure", HOST_NETWORK), data.get("host", ""), int(data.get("port") or 0),
        secret_data, int(data.get("replicas", 1)), data.get("autoscale"), autoscaling_api,
        data.get("shadow_folder"), tuple(data["run_as"]) if data.get("run_as") else None,
    )  # fmt: skip


def _token(home: Path) -> str:
    return (home / ADMIN_TOKEN).read_text().strip()


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
