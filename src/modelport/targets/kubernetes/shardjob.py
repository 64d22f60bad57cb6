"""The Kubernetes objects of a sharded batch step, as plain dicts (a pure function of its inputs).

`render(ShardJobManifest(...))` is one Indexed Job (`completionMode: Indexed`, completions =
parallelism = the shard count): Kubernetes gives each pod its index in
`JOB_COMPLETION_INDEX` and starts a pod again when one fails, as long as the Job's
`backoffLimit` (shards x tries) lasts. Servers older than 1.21 (or 1.21 without the IndexedJob
feature gate) drop `completionMode` silently, which would start N identical pods: for those,
`render(..., indexed=False)` is one single-completion Job per shard with the index set in the
same variable (Kubernetes' documented "parallel processing using expansions" pattern). Either
way the shard command finds its index where it expects it.

The pods see this machine's folders at the same paths (hostPath volumes, the inputs read-only)
and run as this machine's user, so the files they write belong to it. Their CPU request is tiny
(the cluster is shared; the work is bounded by `process_count_per_node`, not by a quota).
Every object carries the workspace label and a run label, so one selector finds them all.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from modelport.targets.kubernetes.manifests import LABEL_MANAGED_BY, LABEL_WORKSPACE, MANAGER

LABEL_RUN = "modelport.io/batch-run"
LABEL_WORK = "modelport.io/batch-work"  # one work folder: an older run's Job holding it is stale
LABEL_SHARD = "modelport.io/shard"
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
INDEX_VARIABLE = "JOB_COMPLETION_INDEX"
CONTAINER = "shard"


@dataclass(frozen=True)
class ShardJobManifest:
    name: str  # the run's object name (see object_name)
    namespace: str
    workspace_key: str
    work_key: str
    shards: int
    image: str
    command: list[str]
    folders: list[tuple[str, bool]]  # (path on the node = path in the pod, writable)
    max_tries: int = 3
    image_pull_policy: str = "IfNotPresent"
    pull_secret: str | None = None
    run_as: tuple[int, int] | None = None  # (uid, gid)
    environment: dict[str, str] = field(default_factory=dict)
    cpu_request: str = "10m"
    memory_request: str = "64Mi"


def object_name(text: str) -> str:
    """A DNS-1123 label for `text` (a step run's name): lowercase, at most 52 characters so
    the `-<index>` of per-shard Jobs and the pods' suffixes still fit in 63."""
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "batch"
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"mp-{slug[:38].rstrip('-')}-{digest}"


def labels(m: ShardJobManifest) -> dict[str, str]:
    return {
        LABEL_MANAGED_BY: MANAGER,
        LABEL_WORKSPACE: m.workspace_key,
        LABEL_RUN: m.name,
        LABEL_WORK: m.work_key,
    }


def selector(name: str, workspace_key: str) -> str:
    """Everything of one run: its Job(s) and their pods."""
    return f"{LABEL_RUN}={name},{LABEL_WORKSPACE}={workspace_key}"


def render(m: ShardJobManifest, indexed: bool = True) -> list[dict[str, Any]]:
    if indexed:
        return [_job(m, m.name, None)]
    return [_job(m, f"{m.name}-{k}", k) for k in range(m.shards)]


def _job(m: ShardJobManifest, name: str, index: int | None) -> dict[str, Any]:
    meta_labels = labels(m) if index is None else {**labels(m), LABEL_SHARD: str(index)}
    count = m.shards if index is None else 1
    spec: dict[str, Any] = {
        "completions": count,
        "parallelism": count,
        # restartPolicy Never: a failed pod stays (its log too) and a new one takes its index;
        # one budget per Job: on average each shard may fail max_tries - 1 times.
        "backoffLimit": count * max(m.max_tries - 1, 0),
        "template": {
            "metadata": {"labels": meta_labels},
            "spec": _pod(m, index),
        },
    }
    if index is None:
        spec = {"completionMode": "Indexed", **spec}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": m.namespace, "labels": meta_labels},
        "spec": spec,
    }


def _pod(m: ShardJobManifest, index: int | None) -> dict[str, Any]:
    env = [{"name": "PYTHONUNBUFFERED", "value": "1"}]
    env += [{"name": k, "value": v} for k, v in sorted(m.environment.items())]
    if index is not None:
        env.append({"name": INDEX_VARIABLE, "value": str(index)})
    volumes, mounts = [], []
    for n, (path, writable) in enumerate(m.folders):
        volumes.append({"name": f"folder-{n}", "hostPath": {"path": path, "type": "Directory"}})
        mounts.append({"name": f"folder-{n}", "mountPath": path, "readOnly": not writable})
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        # the shard is PID 1, which ignores SIGTERM: a deleted pod would wait out 30 s
        "terminationGracePeriodSeconds": 5,
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "containers": [
            {
                "name": CONTAINER,
                "image": m.image,
                "imagePullPolicy": m.image_pull_policy,
                "command": list(m.command),
                "env": env,
                "resources": {"requests": {"cpu": m.cpu_request, "memory": m.memory_request}},
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
    }
    if m.run_as is not None:
        pod["securityContext"] = {"runAsUser": m.run_as[0], "runAsGroup": m.run_as[1]}
    if m.pull_secret:
        pod["imagePullSecrets"] = [{"name": m.pull_secret}]
    return pod


def shard_of_pod(pod: dict[str, Any]) -> int | None:
    """The shard a pod runs: the Indexed Job's annotation, or our per-shard Job's label."""
    meta = pod.get("metadata") or {}
    value = (meta.get("annotations") or {}).get(INDEX_ANNOTATION)
    if value is None:
        value = (meta.get("labels") or {}).get(LABEL_SHARD)
    return int(value) if value is not None and str(value).isdigit() else None
