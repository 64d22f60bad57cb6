"""Talking to an attached cluster with the official `kubernetes` client.

`Cluster.connect(record)` loads the compute's kubeconfig and context. Objects are written with
server-side apply (field manager `modelport`), listed and deleted by label. Raw REST calls
(`call_api` with `_preload_content=False`) keep responses as JSON: the 37.x client cannot parse
some answers of older servers (a 1.20 API server's Service delete response fails its model's
validation), and the objects here are plain dicts anyway.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from modelport._net import free_port
from modelport.deploy.computes import ComputeRecord
from modelport.errors import DeploymentError, InvalidArgument, MissingDependency
from modelport.targets.kubernetes.manifests import LABEL_PORT, MANAGER, ApiVersions

# kind -> (API group path, plural); namespaced kinds only.
_PATHS = {
    "Secret": ("api/v1", "secrets"),
    "Service": ("api/v1", "services"),
    "Pod": ("api/v1", "pods"),
    "Event": ("api/v1", "events"),
    "Endpoints": ("api/v1", "endpoints"),
    "Deployment": ("apis/apps/v1", "deployments"),
    "ReplicaSet": ("apis/apps/v1", "replicasets"),
    "Job": ("apis/batch/v1", "jobs"),
}
_VERSIONED = {
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
}
# Everything a service creates, directly or through its controllers (delete order).
SERVICE_KINDS = (
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Service",
    "Deployment",
    "ReplicaSet",
    "Pod",
    "Secret",
)
REQUEST_TIMEOUT_S = 30


def kubernetes_module() -> Any:
    try:
        import kubernetes
    except ImportError:
        raise MissingDependency("kubernetes", "kubernetes", "Kubernetes services") from None
    return kubernetes


class ApiError(DeploymentError):
    """The API server refused a request: `status` is its HTTP status, `reason` its message."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Cluster:
    """One API server, as a compute record names it; `namespace` is the compute's default."""

    api: Any  # kubernetes.client.ApiClient
    namespace: str
    server: str
    _versions: ApiVersions | None = None

    @classmethod
    def connect(cls, record: ComputeRecord) -> Cluster:
        """InvalidArgument (one line) when the kubeconfig or its context cannot be used."""
        kubernetes = kubernetes_module()
        from kubernetes.config.config_exception import ConfigException

        source = (
            f"kubeconfig {record.kubeconfig}"
            if record.kubeconfig
            else "the default kubeconfig ($KUBECONFIG or ~/.kube/config)"
        )
        # resolved now, not by the client library: it reads $KUBECONFIG once, at import
        config_file = default_kubeconfig(record.kubeconfig)
        try:
            contexts, _ = kubernetes.config.list_kube_config_contexts(config_file)
        except (ConfigException, OSError, ValueError) as exc:
            raise InvalidArgument(
                f"Compute '{record.name}': {source} cannot be read ({_first(exc)}).",
                hint="Attach the compute again with a kubeconfig file that kubectl can use.",
            ) from None
        names = [c["name"] for c in contexts]
        if record.context is not None and record.context not in names:
            raise InvalidArgument(
                f"Compute '{record.name}': {source} has no context "
                f"'{record.context}' (contexts: {', '.join(names) or 'none'}).",
                hint="Attach the compute again with one of those contexts.",
            )
        configuration = kubernetes.client.Configuration()
        try:
            kubernetes.config.load_kube_config(
                config_file=config_file,
                context=record.context,
                client_configuration=configuration,
                persist_config=False,
            )
        except (ConfigException, OSError, ValueError) as exc:
            raise InvalidArgument(
                f"Compute '{record.name}': {source} cannot be used ({_first(exc)}).",
                hint="Check it with `kubectl --kubeconfig FILE get nodes`.",
            ) from None
        configuration.retries = 1
        api = kubernetes.client.ApiClient(configuration)
        return cls(api, record.namespace or "default", configuration.host)

    # -- raw requests ---------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: list[tuple[str, Any]] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """One REST call; the decoded JSON answer, or ApiError / DeploymentError."""
        raw = self._call(method, path, body, query, content_type, "application/json")
        return json.loads(raw) if raw else {}

    def _call(
        self,
        method: str,
        path: str,
        body: Any,
        query: list[tuple[str, Any]] | None,
        content_type: str,
        accept: str,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        status, reason, data = self._send(
            method,
            path,
            body,
            query,
            {"Content-Type": content_type, "Accept": accept, **(headers or {})},
        )
        if status >= 400:
            raise ApiError(status, _api_reason(data, reason))
        return data

    def _send(
        self,
        method: str,
        path: str,
        body: Any,
        query: list[tuple[str, Any]] | None,
        header_params: dict[str, str],
        timeout: float = REQUEST_TIMEOUT_S,
    ) -> tuple[int, str | None, bytes]:
        import urllib3

        _, url, headers, payload, _ = self.api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=header_params,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api.call_api(
                method, url, header_params=headers, body=payload, _request_timeout=timeout
            )
            data: bytes = response.read() or b""
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise DeploymentError(
                f"The Kubernetes API server {self.server} does not answer ({_first(exc)})."
            ) from None
        return response.status, response.reason, data

    def pod_proxy(
        self,
        method: str,
        namespace: str,
        pod: str,
        port: int,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT_S,
    ) -> tuple[int, bytes]:
        """One HTTP request to a pod's port through the API server's pod proxy (no route
        from here to the pod needed); `body` is sent as JSON. The API server consumes `Authorization` itself, so
        credentials for the pod travel in another header. (status, body); a status of 502/503
        from the API server means it could not reach the pod."""
        status, _, data = self._send(
            method,
            f"/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy{path}",
            body,
            None,
            {"Content-Type": "application/json", "Accept": "*/*", **(headers or {})},
            timeout,
        )
        return status, data

    def versions(self) -> ApiVersions:
        """autoscaling/v2 or v2beta2, policy/v1 or v1beta1: what this server serves."""
        if self._versions is None:
            groups = self.request("GET", "/apis").get("groups", [])
            served = {g["name"]: [v["version"] for v in g.get("versions", [])] for g in groups}
            autoscaling = next(
                (
                    f"autoscaling/{v}"
                    for v in ("v2", "v2beta2")
                    if v in served.get("autoscaling", [])
                ),
                "autoscaling/v2",
            )
            policy = "policy/v1" if "v1" in served.get("policy", []) else "policy/v1beta1"
            self._versions = ApiVersions(autoscaling=autoscaling, policy=policy)
        return self._versions

    def _collection(self, kind: str, namespace: str) -> str:
        if kind in _PATHS:
            group, plural = _PATHS[kind]
        else:
            versions = self.versions()
            group = "apis/" + (
                versions.autoscaling if kind == "HorizontalPodAutoscaler" else versions.policy
            )
            plural = _VERSIONED[kind]
        return f"/{group}/namespaces/{namespace}/{plural}"

    # -- objects --------------------------------------------------------------------------
    def apply(self, obj: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply of one object (created or updated; our fields win). `dry_run`:
        the object as the server would store it (fields it does not know are dropped), with
        nothing stored."""
        meta = obj["metadata"]
        path = f"{self._collection(obj['kind'], meta['namespace'])}/{meta['name']}"
        query: list[tuple[str, Any]] = [("fieldManager", MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        return self.request(
            "PATCH", path, body=obj, query=query, content_type="application/apply-patch+yaml"
        )

    def patch(
        self, kind: str, namespace: str, name: str, patch: dict[str, Any], manager: str
    ) -> None:
        """A strategic-merge patch under another field manager (so our applies keep it)."""
        self.request(
            "PATCH",
            f"{self._collection(kind, namespace)}/{name}",
            body=patch,
            query=[("fieldManager", manager)],
            content_type="application/strategic-merge-patch+json",
        )

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", f"{self._collection(kind, namespace)}/{name}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def items(self, kind: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        answer = self.request(
            "GET", self._collection(kind, namespace), query=[("labelSelector", selector)]
        )
        items: list[dict[str, Any]] = answer.get("items", [])
        return items

    def delete(self, kind: str, namespace: str, name: str) -> None:
        try:
            self.request(
                "DELETE",
                f"{self._collection(kind, namespace)}/{name}",
                body={"propagationPolicy": "Background"},
            )
        except ApiError as exc:
            if exc.status != 404:
                raise

    def delete_labelled(self, namespace: str, selector: str) -> None:
        """Delete every object of SERVICE_KINDS with the labels, one by one (Services have no
        delete-collection on older servers)."""
        for kind in SERVICE_KINDS:
            for item in self.items(kind, namespace, selector):
                self.delete(kind, namespace, item["metadata"]["name"])

    def remaining(self, namespace: str, selector: str) -> list[str]:
        """`Kind/name` of every object with the labels that still exists."""
        return [
            f"{kind}/{item['metadata']['name']}"
            for kind in SERVICE_KINDS
            for item in self.items(kind, namespace, selector)
        ]

    def pod_log(
        self,
        namespace: str,
        pod: str,
        tail: int | None,
        previous: bool = False,
        container: str = "scoring",
    ) -> str:
        """The last `tail` lines (None: all) of a container's log ("" when it has none yet)."""
        query: list[tuple[str, Any]] = [("container", container)]
        if tail is not None:
            query.append(("tailLines", tail))
        if previous:
            query.append(("previous", "true"))
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        try:
            raw = self._call("GET", path, None, query, "application/json", "*/*")
        except ApiError:
            return ""
        return raw.decode(errors="replace")

    def can(self, verb: str, group: str, resource: str, namespace: str) -> bool:
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "namespace": namespace,
                    "verb": verb,
                    "group": group,
                    "resource": resource,
                }
            },
        }
        answer = self.request(
            "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=review
        )
        return bool(answer.get("status", {}).get("allowed"))


def check(record: ComputeRecord, namespace: str | None = None) -> str | None:
    """Why the compute cannot take services now, in one line (kubeconfig, context, API server,
    namespace, rights), or None."""
    try:
        cluster = Cluster.connect(record)
    except InvalidArgument as exc:
        return exc.message
    namespace = namespace or cluster.namespace
    try:
        try:
            cluster.request("GET", f"/api/v1/namespaces/{namespace}")
        except ApiError as exc:
            if exc.status == 404:
                return f"the namespace '{namespace}' does not exist on {cluster.server}"
            if exc.status == 401:
                return f"the API server {cluster.server} refused the kubeconfig's credentials"
            if exc.status != 403:  # without rights to read namespaces, the review says more
                raise
        missing = [
            f"{verb} {resource}"
            for verb, group, resource in (
                ("create", "apps", "deployments"),
                ("create", "", "services"),
                ("create", "", "secrets"),
                ("list", "", "pods"),
            )
            if not cluster.can(verb, group, resource, namespace)
        ]
    except DeploymentError as exc:
        return exc.message
    if missing:
        return (
            f"the kubeconfig's user has no rights to {', '.join(missing)} in namespace "
            f"'{namespace}' on {cluster.server}"
        )
    return None


def _api_reason(data: bytes, reason: str | None) -> str:
    try:
        return str(json.loads(data).get("message") or reason)
    except (TypeError, ValueError, AttributeError):
        return str(reason or "no reason given")


def _first(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


_CLUSTERS: dict[tuple[Any, ...], Cluster] = {}


def default_kubeconfig(kubeconfig: str | None) -> str:
    """The kubeconfig file(s) to read: the given one, else $KUBECONFIG (as it is now), else
    ~/.kube/config."""
    return kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def connected(compute: ComputeRecord) -> Cluster:
    """One client per compute setting for the life of the process (kubeconfig re-read when
    the file changes)."""
    path = default_kubeconfig(compute.kubeconfig)
    try:
        mtime = os.stat(path.split(os.pathsep)[0]).st_mtime
    except OSError:
        mtime = None
    key = (compute.name, compute.kubeconfig, compute.context, compute.namespace, mtime)
    if key not in _CLUSTERS:
        _CLUSTERS[key] = Cluster.connect(compute)
    return _CLUSTERS[key]


def unused_port(cluster: Cluster, address: str) -> int:
    """A port free on this machine that no modelport Deployment on the cluster shares (with
    SO_REUSEPORT two services on one port would silently split each other's traffic)."""
    taken = {
        int(d["metadata"]["labels"][LABEL_PORT])
        for d in cluster.request(
            "GET", "/apis/apps/v1/deployments", query=[("labelSelector", LABEL_PORT)]
        ).get("items", [])
    }
    for _ in range(20):
        port = free_port(address)
        if port not in taken:
            return port
    raise DeploymentError("No free port for a host-network service was found.")
