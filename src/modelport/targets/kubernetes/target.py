"""The Kubernetes target (v1: AKS): a service is a Deployment (+ Service, PDB, HPA, Secret) on
an attached cluster (`modelport.deploy.computes`), applied with server-side apply.

- deploy: build the image (packaging), ship it (registry push or containerd import,
  `images.py`), apply the objects (`manifests.py`) and return; `state` follows the rollout.
- update: apply the new revision and wait for the rolling update (`maxUnavailable: 0`: old
  replicas serve until new ones are ready). When the new pods cannot start, the previous
  Deployment template is applied again (what `kubectl rollout undo` does), so the previous
  revision keeps serving, and the update raises with the reason.
- delete: every object with the service's labels, pods included, then local image tags.

Files in the service's home: `service.log` (the deploy log), `applied.json` (the objects of
the serving revision, for undo and restart).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from modelport import settings
from modelport._jsonfile import read_json, write_json
from modelport.deploy import credentials
from modelport.deploy.computes import ComputeRecord, compute_for, get_compute, list_computes
from modelport.deploy.logfile import append_line, read_from, tail
from modelport.deploy.states import FAILED, TRANSITIONING, UNSCHEDULABLE
from modelport.deploy.target import DeploymentTarget, Log, ServiceRecord, ServiceSpec
from modelport.errors import DeploymentError, InvalidArgument, WebserviceException
from modelport.packaging.engine import workspace_key
from modelport.targets.kubernetes import addresses, images, manifests, status
from modelport.targets.kubernetes.cluster import Cluster, check, kubernetes_module
from modelport.targets.kubernetes.cluster import connected as _cluster
from modelport.targets.kubernetes.cluster import unused_port as _unused_port
from modelport.targets.kubernetes.manifests import Manifest, secret_name

LOG_NAME = "service.log"
APPLIED = "applied.json"
RESTART_MANAGER = "modelport-restart"


class KubernetesTarget(DeploymentTarget):
    compute_type = "kubernetes"

    # -- the compute --------------------------------------------------------------------
    def cluster_status(self, record: ComputeRecord) -> tuple[str, str | None]:
        """("Succeeded", None) when the compute can take services, else ("Failed", reason):
        the kubeconfig, its context, the API server, the namespace and the rights in it."""
        problem = check(record)
        return ("Failed", problem) if problem else ("Succeeded", None)

    def unavailable(self, workspace: Any) -> str | None:
        try:
            kubernetes_module()
        except Exception as exc:
            return str(exc)
        if not list_computes(workspace, self.compute_type):
            return "no Kubernetes compute target is attached (modelport compute attach)"
        return None

    def place(self, spec: ServiceSpec, home: Path) -> dict[str, Any]:
        dc = spec.deployment_config
        compute = compute_for(spec.workspace, self.compute_type, dc.compute_target)
        exposure = str(compute.extra.get("exposure") or "load-balancer")
        if exposure not in manifests.EXPOSURES:
            raise InvalidArgument(
                f"Compute '{compute.name}': exposure={exposure!r} is not valid: must be "
                f"{', '.join(manifests.EXPOSURES)}."
            )
        images.transfer_of(compute)  # a bad setting fails before anything is built
        data: dict[str, Any] = {
            "compute": compute.name,
            "namespace": dc.namespace or compute.namespace or "default",
            "workspace_key": workspace_key(str(spec.workspace.path)),
            "exposure": exposure,
            "revision": 0,
        }
        if exposure == "host-network":
            address = str(compute.extra.get("node_address") or "127.0.0.1")
            data["node_address"] = address
            data["port"] = dc.port or _unused_port(_cluster(compute), address)
        return data

    # -- lifecycle ----------------------------------------------------------------------
    def deploy(self, record: ServiceRecord, spec: ServiceSpec, log: Log) -> None:
        compute, cluster = self._connect(record)
        problem = check(compute, record.data["namespace"])
        if problem:
            raise DeploymentError(f"Compute '{compute.name}' cannot take the service: {problem}.")
        objects = self._render(record, spec, compute, cluster, log)
        for obj in objects:
            cluster.apply(obj)
        write_json(
            record.home / APPLIED, {"revision": spec.revision, "objects": objects}, private=True
        )
        log(
            f"revision {spec.revision} applied to {cluster.server} namespace {record.data['namespace']}"
        )

    def update(self, record: ServiceRecord, spec: ServiceSpec, log: Log) -> dict[str, Any]:
        dc = spec.deployment_config
        data = dict(record.data)
        if dc.namespace and dc.namespace != data["namespace"]:
            raise InvalidArgument(
                f"Service '{record.name}' runs in namespace '{data['namespace']}'; an update "
                f"cannot move it to '{dc.namespace}'.",
                hint="Deploy a new service in the other namespace, then delete this one.",
            )
        if dc.port and data.get("port") and dc.port != data["port"]:
            raise InvalidArgument(
                "A host-network Kubernetes service keeps its port across updates.",
                hint="Deploy a new service on the other port, then delete this one.",
            )
        compute, cluster = self._connect(record)
        previous = read_json(record.home / APPLIED)
        objects = self._render(record, spec, compute, cluster, log)
        deployment = next(o for o in objects if o["kind"] == "Deployment")
        for obj in objects:
            if obj["kind"] == "Secret":
                cluster.apply(obj)
        cluster.apply(deployment)
        log(f"revision {spec.revision}: rolling update started")
        error = self._await_rollout(record, cluster, spec.revision)
        if error is not None:
            kept = "the service is down"
            if previous is not None:
                old = next(o for o in previous["objects"] if o["kind"] == "Deployment")
                cluster.apply(old)  # `kubectl rollout undo`: the previous template again
                kept = f"revision {previous['revision']} keeps serving"
                self._await_rollout(record, cluster, int(previous["revision"]), undo=True)
            log(f"update to revision {spec.revision} failed: {error.splitlines()[0]}; {kept}")
            raise WebserviceException(
                f"Update to revision {spec.revision} failed ({kept}): {error}"
            )
        for obj in objects:
            if obj["kind"] not in ("Secret", "Deployment"):
                cluster.apply(obj)
        if not manifests.autoscaling(dc):
            cluster.delete("HorizontalPodAutoscaler", data["namespace"], record.name)
        write_json(
            record.home / APPLIED, {"revision": spec.revision, "objects": objects}, private=True
        )
        log(f"update: revision {spec.revision} serving")
        data["revision"] = spec.revision
        return data

    def state(self, record: ServiceRecord) -> tuple[str, str | None]:
        revision = _revision(record)
        if not revision:
            return TRANSITIONING, None
        _, cluster = self._connect(record)
        return status.observe(
            cluster, record.data["namespace"], record.name, self._selector(record), revision
        )

    def delete(self, record: ServiceRecord) -> None:
        namespace = record.data.get("namespace")
        if namespace is None:  # never placed
            return
        _, cluster = self._connect(record)
        selector = self._selector(record)
        cluster.delete_labelled(namespace, selector)
        deadline = time.monotonic() + 180
        left = cluster.remaining(namespace, selector)
        while left and time.monotonic() < deadline:  # pods drain, then go
            time.sleep(0.5)
            left = cluster.remaining(namespace, selector)
            for item in left:  # an object a controller made after the first pass
                if not item.startswith("Pod/"):
                    kind, name = item.split("/", 1)
                    cluster.delete(kind, namespace, name)
        if left:
            raise DeploymentError(f"Deleting service '{record.name}' left {', '.join(left)}.")
        images.remove_local_images(record.workspace, record.name, record.data["workspace_key"])

    def restart(self, record: ServiceRecord) -> None:
        """A rolling restart (what `kubectl rollout restart` does); returns once rolled out."""
        _, cluster = self._connect(record)
        stamp = datetime.now().astimezone().isoformat()
        patch = {
            "spec": {"template": {"metadata": {"annotations": {"modelport.io/restartedAt": stamp}}}}
        }
        cluster.patch("Deployment", record.data["namespace"], record.name, patch, RESTART_MANAGER)
        error = self._await_rollout(record, cluster, _revision(record))
        if error is not None:
            raise WebserviceException(f"Restart failed: {error}")

    def endpoint_router(self) -> Any:
        from modelport.targets.kubernetes.router import KubernetesRouter

        return KubernetesRouter()

    def batch_executor(self) -> Any:
        from modelport.targets.kubernetes.shards import KubernetesShards

        return KubernetesShards()

    # -- addresses, logs, credentials ---------------------------------------------------
    def scoring_uri(self, record: ServiceRecord) -> str:
        return f"{self._base_url(record)}/score"

    def router_url(self, record: ServiceRecord) -> str:
        """An endpoint router pod reaches a version on the node's address (host-network,
        like any client) or at its Service's ClusterIP (never the public address)."""
        data = record.data
        if data.get("exposure") == "host-network":
            return self._base_url(record)
        _, cluster = self._connect(record)
        return addresses.pod_url(cluster, data["namespace"], record.name)

    def swagger_uri(self, record: ServiceRecord) -> str:
        return f"{self._base_url(record)}/swagger.json"

    def logs(self, record: ServiceRecord, num_lines: int) -> str:
        parts = [tail(record.home / LOG_NAME, num_lines)]
        if record.data.get("namespace"):
            _, cluster = self._connect(record)
            namespace = record.data["namespace"]
            for pod in cluster.items("Pod", namespace, self._selector(record)):
                name = pod["metadata"]["name"]
                parts.append(f"--- pod {name} ---\n{cluster.pod_log(namespace, name, num_lines)}")
        return "\n".join(p.rstrip("\n") for p in parts if p).strip("\n")

    def read_log(self, record: ServiceRecord, offset: int) -> tuple[str, int]:
        return read_from(record.home / LOG_NAME, offset)

    def write_log(self, record: ServiceRecord, line: str) -> None:
        append_line(record.home / LOG_NAME, line)

    def get_keys(self, record: ServiceRecord) -> tuple[str, str]:
        keys = json.loads(self._secret_data(record)["keys.json"])
        return keys["primary"], keys["secondary"]

    def regen_key(self, record: ServiceRecord, key: str, set_key: str | None) -> None:
        """The Secret changes at once; replicas read the new key when the kubelet refreshes
        the mounted Secret (its sync period, about a minute by default)."""
        data = self._secret_data(record)
        keys = credentials.regenerated(json.loads(data["keys.json"]), key, set_key)
        data["keys.json"] = json.dumps(keys)
        _, cluster = self._connect(record)
        applied = read_json(record.home / APPLIED) or {"objects": []}
        secret = next(o for o in applied["objects"] if o["kind"] == "Secret")
        secret["stringData"] = data
        cluster.apply(secret)
        write_json(record.home / APPLIED, applied, private=True)

    def get_token(self, record: ServiceRecord) -> tuple[str, datetime]:
        return credentials.sign_token(self._secret_data(record)["token_secret"], record.name)

    # -- internals ----------------------------------------------------------------------
    def _connect(self, record: ServiceRecord) -> tuple[ComputeRecord, Cluster]:
        compute = get_compute(record.workspace, record.data["compute"])
        return compute, _cluster(compute)

    def _selector(self, record: ServiceRecord) -> str:
        return manifests.selector(record.name, record.data["workspace_key"])

    def _secret_data(self, record: ServiceRecord) -> dict[str, str]:
        _, cluster = self._connect(record)
        found = cluster.get("Secret", record.data["namespace"], secret_name(record.name))
        if found is None:
            raise DeploymentError(
                f"Service '{record.name}' has no Secret on the cluster; redeploy it."
            )
        import base64

        return {k: base64.b64decode(v).decode() for k, v in (found.get("data") or {}).items()}

    def _render(
        self,
        record: ServiceRecord,
        spec: ServiceSpec,
        compute: ComputeRecord,
        cluster: Cluster,
        log: Log,
    ) -> list[dict[str, Any]]:
        """Ship the image, then the objects of revision `spec.revision` (keys kept)."""
        dc = spec.deployment_config
        shipped = images.build_and_ship(
            spec, compute, record.home, record.data["workspace_key"], log
        )
        existing = cluster.get("Secret", record.data["namespace"], secret_name(record.name))
        secret = _secret_values(existing, dc.primary_key, dc.secondary_key)
        m = Manifest(
            name=record.name,
            namespace=record.data["namespace"],
            workspace_key=record.data["workspace_key"],
            revision=spec.revision,
            image=shipped.reference,
            deployment_config=dc,
            exposure=record.data["exposure"],
            port=record.data.get("port"),
            node_address=record.data.get("node_address", "127.0.0.1"),
            image_pull_policy=shipped.pull_policy,
            pull_secret=manifests.pull_secret_name(record.name)
            if shipped.registry and shipped.registry.username
            else None,
            secret_data=secret,
            versions=cluster.versions(),
        )
        objects = manifests.render(m)
        if m.pull_secret and shipped.registry and shipped.pull_server:
            registry = shipped.registry
            assert registry.username is not None
            pull = manifests.pull_secret(
                m, shipped.pull_server, registry.username, registry.password or ""
            )
            objects.insert(0, pull)
        return objects

    def _await_rollout(
        self, record: ServiceRecord, cluster: Cluster, revision: int, undo: bool = False
    ) -> str | None:
        """None once every replica runs `revision`, its Service routes to them and no pod
        of an earlier revision is left (a leaving pod serves a few seconds more, while its
        Service lets it go: until it is gone, a kept-alive caller can still reach it); else
        why its pods cannot serve."""
        namespace, selector = record.data["namespace"], self._selector(record)
        timeout = float(settings.get("MODELPORT_READY_TIMEOUT_S"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            deployment = cluster.get("Deployment", namespace, record.name)
            if deployment is None:
                return "the Deployment is gone"
            pods = status.revision_pods(cluster, namespace, selector, revision)
            if (
                status.rolled_out(deployment)
                and _template_revision(deployment) == revision
                and not cluster.items(
                    "Pod", namespace, f"{selector},{manifests.LABEL_REVISION}!={revision}"
                )
                and status.routed(cluster, namespace, record.name, pods)
            ):
                return None
            if not undo:
                for pod in pods:
                    problem = status.pod_problem(cluster, pod)
                    if problem is not None and problem[0] in (FAILED, UNSCHEDULABLE):
                        return f"{problem[0]}: {problem[1]}"
            time.sleep(0.5)
        return f"the rollout did not finish within {timeout:.0f}s"

    def _base_url(self, record: ServiceRecord) -> str:
        data = record.data
        if data.get("exposure") == "host-network":
            return addresses.node_url(data.get("node_address", "127.0.0.1"), data["port"])
        compute, cluster = self._connect(record)
        return addresses.service_url(
            cluster,
            data["namespace"],
            record.name,
            data["exposure"],
            compute.extra.get("public_url"),
        )


def _secret_values(
    existing: dict[str, Any] | None, primary: str | None, secondary: str | None
) -> dict[str, str]:
    """keys.json and token_secret: those on the cluster, with keys the config names."""
    import base64

    data = {
        k: base64.b64decode(v).decode() for k, v in ((existing or {}).get("data") or {}).items()
    }
    keys = json.loads(data["keys.json"]) if "keys.json" in data else {}
    keys = {
        "primary": primary or keys.get("primary") or credentials.new_key(),
        "secondary": secondary or keys.get("secondary") or credentials.new_key(),
    }
    return {
        "keys.json": json.dumps(keys),
        "token_secret": data.get("token_secret") or credentials.new_token_secret(),
    }


def _template_revision(deployment: dict[str, Any]) -> int:
    labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
    return int(labels.get(manifests.LABEL_REVISION, 0))


def _revision(record: ServiceRecord) -> int:
    applied = read_json(record.home / APPLIED)
    return int(applied["revision"]) if applied else int(record.data.get("revision") or 0)
