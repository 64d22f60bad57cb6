"""Running a batch step's shards on the cluster: the Kubernetes target's `ShardExecutor`.

`KubernetesTarget.batch_executor()` hands this out (the seam of `deploy/shards.py`). A run:
build the step environment's image and ship it as for a service (`images.build_and_ship`),
apply one Indexed Job (or, on servers without Indexed Jobs, one Job per shard: see
`shardjob.py`), poll the Jobs' conditions until each ended, copy every pod's log into the
run's logs, then delete the Jobs and their pods by label and wait until they are gone, also
when the run fails or is interrupted.

Shards share inputs, journals and results with this machine through its folders (hostPath
volumes at the same paths), so the compute's nodes must be this machine, or mount those
folders at the same paths: `unsupported` tells from the compute's settings (below).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path
from typing import Any

from modelport import settings
from modelport.configs import DeploymentConfig
from modelport.deploy.computes import ComputeRecord
from modelport.deploy.shards import Log, ShardedJob, ShardEnd, ShardExecutor
from modelport.deploy.states import FAILED, UNSCHEDULABLE
from modelport.deploy.target import ServiceSpec
from modelport.errors import DeploymentError
from modelport.packaging.engine import workspace_key
from modelport.targets.kubernetes import images, manifests, shardjob, status, storage
from modelport.targets.kubernetes.cluster import ApiError, Cluster, connected
from modelport.targets.kubernetes.shardjob import ShardJobManifest

POLL_S = 1.0
CLEANUP_TIMEOUT_S = 180
KINDS = ("Job", "Pod", "Secret")  # what a run creates, in delete order


class KubernetesShards(ShardExecutor):
    def unsupported(self, compute: ComputeRecord) -> str | None:
        """Shards need storage shared with this machine (`storage.not_shared`)."""
        why = storage.not_shared(compute)
        if why is None:
            return None
        return (
            f"compute '{compute.name}' cannot run shards: they need storage shared with this "
            f"machine (inputs, journals and results live in its folders) and {why}. Attach a "
            "single-node cluster on this machine (exposure='host-network', "
            "node_address='127.0.0.1'), or attach with shared_storage=True when every node "
            "mounts the workspace, source and input folders at the same paths; or use "
            "node_count=1 (runs here)."
        )

    def run(self, job: ShardedJob, log: Log) -> list[ShardEnd]:
        compute = job.compute
        cluster = connected(compute)
        namespace = compute.namespace or "default"
        key = workspace_key(str(job.workspace.path))
        name = shardjob.object_name(job.name)
        shipped = _image(job, name, key, log)
        m = ShardJobManifest(
            name=name,
            namespace=namespace,
            workspace_key=key,
            work_key=shardjob.object_name(job.group or job.name),
            shards=job.shards,
            image=shipped.reference,
            command=job.command,
            folders=[(f.path, f.writable) for f in job.folders],
            max_tries=job.max_tries,
            image_pull_policy=shipped.pull_policy,
            pull_secret=f"{name}-pull" if shipped.registry and shipped.registry.username else None,
            run_as=(os.getuid(), os.getgid()),
            environment=dict(job.environment),
        )
        _end_stale(cluster, m, log)
        selector = shardjob.selector(name, key)
        try:
            if m.pull_secret and shipped.registry and shipped.pull_server:
                meta = {"name": m.pull_secret, "namespace": namespace, "labels": shardjob.labels(m)}
                registry = shipped.registry
                cluster.apply(
                    manifests.registry_secret(
                        meta, shipped.pull_server, registry.username or "", registry.password or ""
                    )
                )
            indexed = indexed_jobs(cluster, m)
            objects = shardjob.render(m, indexed=indexed)
            for obj in objects:
                cluster.apply(obj)
            log(
                f"{'one Indexed Job' if indexed else f'{len(objects)} Jobs (no Indexed Jobs on this server)'} "
                f"'{name}' applied to {cluster.server} namespace {namespace}: {job.shards} shards"
            )
            return _await(cluster, m, indexed, log)
        finally:
            log(f"deleting Job '{name}' and its pods (their logs copied first)")
            _save_logs(cluster, namespace, selector, Path(job.logs))
            _delete(cluster, namespace, selector)
            log(f"Job '{name}' and its pods deleted")


def indexed_jobs(cluster: Cluster, m: ShardJobManifest) -> bool:
    """Does the server know `completionMode: Indexed`? A dry-run apply answers without
    starting anything: a server without the field refuses it ("field not declared in
    schema"), or, without the feature gate, drops it."""
    try:
        stored = cluster.apply(shardjob.render(m, indexed=True)[0], dry_run=True)
    except ApiError as exc:
        if "completionMode" in exc.reason:
            return False
        raise
    return (stored.get("spec") or {}).get("completionMode") == "Indexed"


def _image(job: ShardedJob, name: str, key: str, log: Log) -> images.Shipped:
    """The step environment's image, built and shipped as a service revision's is."""
    spec = ServiceSpec(
        workspace=job.workspace,
        name=_image_name(job, name),
        revision=1,
        models=[],
        inference_config=job.inference_config,
        deployment_config=DeploymentConfig(compute_type="kubernetes"),
    )
    home = Path(job.logs).parent / "image"
    return images.build_and_ship(spec, job.compute, home, key, log)


def _image_name(job: ShardedJob, name: str) -> str:
    """One local tag per step name: the next run's build reuses its layers (the environment
    layer takes a minute to build cold), as a service's next revision does."""
    step = re.sub(r"[^a-z0-9-]+", "-", job.step.lower()).strip("-")
    return f"batch-{step or name}"


def _await(cluster: Cluster, m: ShardJobManifest, indexed: bool, log: Log) -> list[ShardEnd]:
    """Poll until every Job has a Complete or Failed condition; stop early when a pod cannot
    start at all (bad image, unschedulable past the ready timeout)."""
    selector = shardjob.selector(m.name, m.workspace_key)
    start_timeout = float(settings.get("MODELPORT_READY_TIMEOUT_S"))
    started = time.monotonic()
    seen_done: set[int] = set()
    while True:
        jobs = cluster.items("Job", m.namespace, selector)
        if len(jobs) < (1 if indexed else m.shards):
            raise DeploymentError(f"The batch Job '{m.name}' was deleted while it ran.")
        if all(_ended(j) for j in jobs):
            return _ends(cluster, m, indexed, jobs)
        for pod in cluster.items("Pod", m.namespace, selector):
            phase = (pod.get("status") or {}).get("phase")
            index = shardjob.shard_of_pod(pod)
            if phase == "Succeeded" and index is not None and index not in seen_done:
                seen_done.add(index)
                log(f"shard {index}: pod {pod['metadata']['name']} succeeded")
            if phase != "Pending":
                continue  # a pod that ran and failed is the Job's to start again
            problem = status.pod_problem(cluster, pod)
            if problem is None:
                continue
            if problem[0] == FAILED or (
                problem[0] == UNSCHEDULABLE and time.monotonic() - started > start_timeout
            ):
                raise DeploymentError(f"The batch Job's pods cannot start: {problem[1]}")
        time.sleep(POLL_S)


def _ended(job: dict[str, Any]) -> str | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return str(condition["type"])
    return None


def _ends(
    cluster: Cluster, m: ShardJobManifest, indexed: bool, jobs: list[dict[str, Any]]
) -> list[ShardEnd]:
    if indexed:
        job = jobs[0]
        if _ended(job) == "Complete":
            return [ShardEnd(k, True) for k in range(m.shards)]
        completed = _indexes((job.get("status") or {}).get("completedIndexes") or "")
        why = _why_failed(cluster, m, job)
        return [
            ShardEnd(k, k in completed, None if k in completed else why) for k in range(m.shards)
        ]
    by_index = {int(j["metadata"]["labels"][shardjob.LABEL_SHARD]): j for j in jobs}
    return [
        ShardEnd(k, True)
        if _ended(by_index[k]) == "Complete"
        else ShardEnd(k, False, _why_failed(cluster, m, by_index[k]))
        for k in range(m.shards)
    ]


def _why_failed(cluster: Cluster, m: ShardJobManifest, job: dict[str, Any]) -> str:
    condition = next(
        c for c in (job.get("status") or {}).get("conditions") or [] if c.get("type") == "Failed"
    )
    reason = f"{condition.get('reason') or 'Failed'}: {condition.get('message') or ''}".rstrip(": ")
    pods = cluster.items("Pod", m.namespace, f"job-name={job['metadata']['name']}")
    for pod in pods:
        if (pod.get("status") or {}).get("phase") == "Failed":
            problem = status.pod_problem(cluster, pod)
            if problem is not None:
                return f"{reason}; {problem[1]}"
    return reason


def _indexes(text: str) -> set[int]:
    """`completedIndexes` ("0,2-4") as a set."""
    found: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return found


def _save_logs(cluster: Cluster, namespace: str, selector: str, logs: Path) -> None:
    """Every pod's log (tried ones too) into the run's logs: `shard-k/pod-<name>.log`."""
    with contextlib.suppress(DeploymentError):
        for pod in cluster.items("Pod", namespace, selector):
            index = shardjob.shard_of_pod(pod)
            folder = logs / (f"shard-{index}" if index is not None else "pods")
            folder.mkdir(parents=True, exist_ok=True)
            pod_name = pod["metadata"]["name"]
            text = cluster.pod_log(namespace, pod_name, None, container=shardjob.CONTAINER)
            (folder / f"pod-{pod_name}.log").write_text(text, encoding="utf-8")


def _delete(cluster: Cluster, namespace: str, selector: str) -> None:
    """Jobs, their pods and the pull Secret, by label; returns once none is left."""
    deadline = time.monotonic() + CLEANUP_TIMEOUT_S
    while True:
        left = [
            (kind, item["metadata"]["name"])
            for kind in KINDS
            for item in cluster.items(kind, namespace, selector)
        ]
        if not left:
            return
        if time.monotonic() > deadline:
            names = ", ".join(f"{k}/{n}" for k, n in left)
            raise DeploymentError(f"Deleting the batch Job left {names} on the cluster.")
        for kind, item_name in left:
            if kind != "Pod" or not _terminating(cluster, namespace, item_name):
                cluster.delete(kind, namespace, item_name)
        time.sleep(0.5)


def _terminating(cluster: Cluster, namespace: str, pod: str) -> bool:
    found = cluster.get("Pod", namespace, pod)
    return bool(found and found["metadata"].get("deletionTimestamp"))


def _end_stale(cluster: Cluster, m: ShardJobManifest, log: Log) -> None:
    """An earlier run over the same work folder whose driver died left its Job running: its
    pods hold the shards' journals. End it before this run's pods start."""
    selector = f"{shardjob.LABEL_WORK}={m.work_key},{manifests.LABEL_WORKSPACE}={m.workspace_key}"
    for job in cluster.items("Job", m.namespace, selector):
        old = job["metadata"]["labels"].get(shardjob.LABEL_RUN)
        if old and old != m.name:
            log(f"ending Job '{job['metadata']['name']}' of an earlier run over the same inputs")
            _delete(cluster, m.namespace, shardjob.selector(old, m.workspace_key))
