"""A service's state from its Deployment and the pods of its serving revision.

rolling out -> Transitioning; every replica ready, and listed by its Service's Endpoints
(a pod is Ready a moment before its Service routes to it: a router sending it traffic in that
moment is refused) -> Healthy; a rollout that completed with
replicas no longer ready -> Unhealthy; a pod Pending because no node can hold it ->
Unschedulable with the scheduler's message; a container that cannot start (CrashLoopBackOff,
ImagePullBackOff, ErrImagePull, ErrImageNeverPull, a config error) or that exited with an
error -> Failed with the reason (and the log tail of the crashed container).
"""

from __future__ import annotations

from typing import Any

from modelport.deploy.states import FAILED, HEALTHY, TRANSITIONING, UNHEALTHY, UNSCHEDULABLE
from modelport.targets.kubernetes.cluster import ApiError, Cluster
from modelport.targets.kubernetes.manifests import LABEL_REVISION

_CANNOT_START = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}
LOG_TAIL = 20


def pod_problem(cluster: Cluster, pod: dict[str, Any]) -> tuple[str, str] | None:
    """(Unschedulable | Failed, reason) when this pod cannot serve, else None."""
    status = pod.get("status") or {}
    name = pod["metadata"]["name"]
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            return UNSCHEDULABLE, f"pod {name}: {condition.get('message') or 'no node can hold it'}"
    for container in (status.get("initContainerStatuses") or []) + (
        status.get("containerStatuses") or []
    ):
        if container.get("ready"):
            continue
        state = container.get("state") or {}
        waiting = state.get("waiting") or {}
        terminated = state.get("terminated") or (container.get("lastState") or {}).get("terminated")
        crashed = terminated is not None and terminated.get("exitCode", 0) != 0
        if waiting.get("reason") in _CANNOT_START or crashed:
            parts = [f"pod {name}"]
            if waiting.get("reason"):
                parts.append(f"{waiting['reason']}: {waiting.get('message') or ''}".rstrip(": "))
            if crashed:
                assert terminated is not None
                parts.append(
                    f"the container exited with code {terminated.get('exitCode')} "
                    f"({terminated.get('reason') or 'Error'})"
                )
            reason = "; ".join(parts)
            if crashed:
                previous = int(container.get("restartCount") or 0) > 0
                tail = cluster.pod_log(
                    pod["metadata"]["namespace"],
                    name,
                    LOG_TAIL,
                    previous=previous,
                    container=container.get("name") or "scoring",
                )
                if tail.strip():
                    reason += f"\nLast container log lines:\n{tail.rstrip()}"
            return FAILED, reason
    return None


def revision_pods(cluster: Cluster, namespace: str, selector: str, revision: int) -> list[Any]:
    return cluster.items("Pod", namespace, f"{selector},{LABEL_REVISION}={revision}")


def observe(
    cluster: Cluster, namespace: str, name: str, selector: str, revision: int
) -> tuple[str, str | None]:
    deployment = cluster.get("Deployment", namespace, name)
    if deployment is None:
        return UNHEALTHY, f"the Deployment {namespace}/{name} is gone (deleted outside modelport?)"
    pods = revision_pods(cluster, namespace, selector, revision)
    for pod in pods:
        problem = pod_problem(cluster, pod)
        if problem is not None:
            return problem
    if rolled_out(deployment):
        return (HEALTHY, None) if routed(cluster, namespace, name, pods) else (TRANSITIONING, None)
    status = deployment.get("status") or {}
    conditions = {c["type"]: c for c in status.get("conditions") or []}
    progressing = conditions.get("Progressing") or {}
    settled = status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 1)
    if settled and progressing.get("reason") == "NewReplicaSetAvailable":
        want = (deployment.get("spec") or {}).get("replicas", 1)
        ready = status.get("readyReplicas", 0)
        return UNHEALTHY, f"{ready} of {want} replicas are ready"
    return TRANSITIONING, None


def rolled_out(deployment: dict[str, Any]) -> bool:
    """Every replica runs the current template and is ready; no old replica is left."""
    status = deployment.get("status") or {}
    want = (deployment.get("spec") or {}).get("replicas", 1)
    return (
        status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 1)
        and status.get("updatedReplicas", 0) == want
        and status.get("replicas", 0) == want
        and status.get("readyReplicas", 0) == want
        and status.get("availableReplicas", 0) == want
    )


def routed(cluster: Cluster, namespace: str, name: str, pods: list[Any]) -> bool:
    """Every ready pod among `pods` is a ready address of the Service `name`'s Endpoints (no
    Service, or no right to read Endpoints: nothing to wait for)."""
    ready = {
        (pod.get("status") or {}).get("podIP")
        for pod in pods
        if not pod["metadata"].get("deletionTimestamp")
        and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (pod.get("status") or {}).get("conditions") or []
        )
    }
    try:  # no Endpoints yet: the controller has not listed the Service's pods, if it has one
        endpoints = cluster.get("Endpoints", namespace, name)
        if endpoints is None:
            return cluster.get("Service", namespace, name) is None
    except ApiError as exc:
        if exc.status == 403:
            return True
        raise
    listed = {
        address.get("ip")
        for subset in endpoints.get("subsets") or []
        for address in subset.get("addresses") or []
    }
    return ready <= listed
