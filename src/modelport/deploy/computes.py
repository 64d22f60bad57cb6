"""Attached compute targets: clusters a workspace deploys to, recorded by name.

v1's `ComputeTarget.attach(ws, name, config)` records a cluster in the workspace; services
then name it (`Model.deploy(..., deployment_target=compute)` sets the deployment config's
`compute_target`). modelport never creates clusters: a record only says how to reach one
(a kubeconfig file, a context in it, a namespace). The record knows nothing of how a target
talks to the cluster; the target that owns `compute_type` checks and uses it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from modelport.errors import AlreadyExists, ComputeTargetNotFound, InvalidArgument, NotFound
from modelport.registry.names import validate_name

if TYPE_CHECKING:
    from modelport.workspace import Workspace

KIND = "compute"


@dataclass
class ComputeRecord:
    """One attached cluster. `kubeconfig` None means the default loading rules
    (`$KUBECONFIG`, then ~/.kube/config); `context` None means that file's current context."""

    name: str
    compute_type: str = "kubernetes"
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str = "default"
    description: str | None = None
    created_time: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComputeRecord:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def attach_compute(workspace: Workspace, record: ComputeRecord, overwrite: bool = False) -> None:
    """Record `record`; AlreadyExists when the name is taken and `overwrite` is not set."""
    validate_name("compute target", record.name)
    if not overwrite and _exists(workspace, record.name):
        raise AlreadyExists(
            f"Compute target '{record.name}' is already attached.",
            hint="Detach it first (modelport compute detach NAME) or pick another name.",
        )
    workspace.store.put_document(KIND, record.name, record.to_dict())


def get_compute(workspace: Workspace, name: str) -> ComputeRecord:
    try:
        return ComputeRecord.from_dict(workspace.store.get_document(KIND, name))
    except NotFound:
        attached = ", ".join(c.name for c in list_computes(workspace)) or "none"
        raise ComputeTargetNotFound(
            f"No compute target named '{name}' in this workspace (attached: {attached}).",
            hint="Attach a cluster with `modelport compute attach NAME --kubeconfig FILE`.",
        ) from None


def list_computes(workspace: Workspace, compute_type: str | None = None) -> list[ComputeRecord]:
    records = [ComputeRecord.from_dict(d) for d in workspace.store.list_documents(KIND)]
    if compute_type is not None:
        records = [r for r in records if r.compute_type == compute_type]
    return sorted(records, key=lambda r: r.name)


def detach_compute(workspace: Workspace, name: str) -> None:
    get_compute(workspace, name)  # NotFound with the attached names
    workspace.store.delete_document(KIND, name)


def compute_for(workspace: Workspace, compute_type: str, name: str | None) -> ComputeRecord:
    """The compute a service of `compute_type` deploys to: the named one, or the only one of
    that type attached. InvalidArgument when it cannot be decided."""
    if name is not None:
        record = get_compute(workspace, name)
        if record.compute_type != compute_type:
            raise InvalidArgument(
                f"Compute target '{name}' is a {record.compute_type} compute, not {compute_type}.",
                hint=f"Deploy with a {record.compute_type} deployment configuration, "
                f"or name a {compute_type} compute.",
            )
        return record
    candidates = list_computes(workspace, compute_type)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ComputeTargetNotFound(
            f"No {compute_type} compute target is attached to this workspace.",
            hint="Attach one with `modelport compute attach NAME --kubeconfig FILE`.",
        )
    raise InvalidArgument(
        f"{len(candidates)} {compute_type} compute targets are attached "
        f"({', '.join(c.name for c in candidates)}); the deployment does not say which.",
        hint="Pass deployment_target=ComputeTarget(ws, NAME) (CLI: --compute-target NAME).",
    )


def _exists(workspace: Workspace, name: str) -> bool:
    try:
        workspace.store.get_document(KIND, name)
    except NotFound:
        return False
    return True
