"""`azureml.core.compute` equivalents: the clusters a workspace deploys to.

v1 creates, attaches and deletes Azure clusters. modelport records clusters that already exist
(a kubeconfig, a context in it, a namespace: `modelport.deploy.computes`) and never creates or
deletes one, so v1 notebooks run unchanged and honestly: `ComputeTarget.create(ws, name,
AksCompute.provisioning_configuration(...))` attaches the cluster of the current kube context
and says so, `delete()` only detaches. `AmlCompute` (v1's batch/training clusters) is recorded
as this machine; deploying a web service to it is refused (an attached Kubernetes compute
runs both).
"""

from __future__ import annotations

import builtins
import warnings
from typing import TYPE_CHECKING, Any, ClassVar

from modelport.configs import valid_namespace, warn_ignored
from modelport.core.kubeconfig import KubeContext, check_context
from modelport.deploy import computes
from modelport.deploy import service as control
from modelport.deploy.computes import ComputeRecord
from modelport.errors import (
    ComputeTargetException,
    ComputeTargetNotFound,
    Conflict,
    InvalidArgument,
    InvalidComputeConfig,
)

if TYPE_CHECKING:
    from modelport.workspace import Workspace

__all__ = [
    "AksCompute",
    "AmlCompute",
    "ComputeTarget",
    "ComputeTargetAttachConfiguration",
    "ComputeTargetException",
    "ComputeTargetNotFound",
    "ComputeTargetProvisioningConfiguration",
    "ComputeWarning",
    "KubernetesCompute",
]

SUCCEEDED = "Succeeded"
FAILED = "Failed"
UNKNOWN = "Unknown"
_V1_TYPE = "v1_type"  # ComputeRecord.extra key: the v1 class a record was made with
_AZURE_ONLY = "an Azure provisioning setting; modelport attaches a cluster that already exists"


class ComputeWarning(UserWarning):
    """modelport did something other than v1 would (attach instead of create, detach instead
    of delete), and says so."""


class ComputeTargetAttachConfiguration:
    """What to attach: made by `KubernetesCompute.attach_configuration` or
    `AksCompute.attach_configuration`, consumed by `ComputeTarget.attach`."""

    def __init__(
        self,
        kubeconfig: str | None,
        context: str | None,
        namespace: str,
        v1_type: str,
        settings: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        if not valid_namespace(namespace):
            raise InvalidComputeConfig(
                f"namespace={namespace!r} is not a Kubernetes namespace (up to 63 lowercase "
                "letters, digits and '-', starting and ending with a letter or digit).",
                hint="Pass an existing namespace such as 'default'.",
            )
        self.kubeconfig = str(kubeconfig) if kubeconfig is not None else None
        self.context = context
        self.namespace = namespace
        self.v1_type = v1_type
        self.settings = dict(settings or {})  # v1 settings kept for display (cluster_purpose)
        self.options = dict(options or {})  # how the target reaches services and ships images

    def validate_configuration(self) -> KubeContext:
        """The context this attaches (checked offline); InvalidComputeConfig if it cannot work."""
        return check_context(self.kubeconfig, self.context)

    def _record(self, name: str, extra: dict[str, Any] | None = None) -> ComputeRecord:
        found = self.validate_configuration()
        return ComputeRecord(
            name=name,
            compute_type="kubernetes",
            # pinned: a later `kubectl config use-context` or $KUBECONFIG moves nothing
            kubeconfig=found.kubeconfig,
            context=found.context,
            namespace=self.namespace,
            extra={
                "provisioning": self.settings,
                **self.options,
                **(extra or {}),
                _V1_TYPE: self.v1_type,
                "server": found.server,
            },
        )


class ComputeTargetProvisioningConfiguration:
    """v1's provisioning configs; modelport provisions nothing, `ComputeTarget.create` turns
    one into an attach (see the subclasses)."""

    v1_type: ClassVar[str]

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    def validate_configuration(self) -> None:
        """v1 checks Azure settings here; there are none to check."""

    def _create(self, workspace: Workspace, name: str) -> ComputeRecord:
        raise NotImplementedError


class AksProvisioningConfiguration(ComputeTargetProvisioningConfiguration):
    """`AksCompute.provisioning_configuration(...)`: `create` attaches the current context."""

    v1_type = "AKS"

    def _create(self, workspace: Workspace, name: str) -> ComputeRecord:
        found = check_context(None, None)
        warnings.warn(
            f"modelport does not create clusters: ComputeTarget.create attaches '{name}' to the "
            f"cluster of the current kube context '{found.context}' ({found.kubeconfig}).",
            ComputeWarning,
            stacklevel=3,
        )
        config = ComputeTargetAttachConfiguration(
            None, found.context, "default", self.v1_type, self.settings
        )
        return config._record(name)


class AmlComputeProvisioningConfiguration(ComputeTargetProvisioningConfiguration):
    """`AmlCompute.provisioning_configuration(...)`: recorded as this machine."""

    v1_type = "AmlCompute"

    def _create(self, workspace: Workspace, name: str) -> ComputeRecord:
        warnings.warn(
            f"modelport does not create AmlCompute clusters: '{name}' is recorded as this "
            "machine, where pipeline steps run; web services deploy to an AksCompute or "
            "KubernetesCompute.",
            ComputeWarning,
            stacklevel=3,
        )
        return ComputeRecord(
            name=name,
            compute_type="amlcompute",
            extra={_V1_TYPE: self.v1_type, "provisioning": self.settings},
        )


class ComputeTarget:
    """A handle on one attached compute: `ComputeTarget(ws, name)` (of its v1 class)."""

    type: ClassVar[str] = "Kubernetes"
    _compute_type: ClassVar[str] = "kubernetes"

    def __new__(cls, workspace: Workspace, name: str) -> ComputeTarget:
        if cls is ComputeTarget:  # v1 returns the class of the target's type
            cls = _class_of(computes.get_compute(workspace, name))
        return super().__new__(cls)

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name
        self._record = computes.get_compute(workspace, name)
        if self._record.compute_type != self._compute_type:
            raise ComputeTargetException(
                f"Compute target '{name}' is of type {_class_of(self._record).type}, "
                f"not {self.type}.",
                hint=f"Open it with ComputeTarget(ws, '{name}').",
            )
        self.provisioning_state: str | None = SUCCEEDED  # the attach succeeded
        self.provisioning_errors: builtins.list[dict[str, Any]] | None = None

    # -- v1 attributes ---------------------------------------------------------------------
    @property
    def id(self) -> str:
        return f"{self.workspace.path}/computes/{self.name}"

    @property
    def location(self) -> str:
        return str(self.workspace.location)

    @property
    def description(self) -> str | None:
        return self._record.description

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._record.extra.get("tags") or {})

    @property
    def created_on(self) -> str:
        return self._record.created_time

    @property
    def is_attached(self) -> bool:
        return True

    @property
    def kubeconfig(self) -> str | None:
        """The kubeconfig file(s); None: the default ($KUBECONFIG, else ~/.kube/config)."""
        return self._record.kubeconfig

    @property
    def context(self) -> str | None:
        return self._record.context

    @property
    def namespace(self) -> str:
        return self._record.namespace

    @property
    def cluster_resource_id(self) -> str | None:
        """v1: the Azure resource id of the cluster; here the API server's URL."""
        server = self._record.extra.get("server")
        return str(server) if server else None

    # v1's AksCompute attributes, which notebooks print after `ComputeTarget.create(...)`
    @property
    def cluster_purpose(self) -> str | None:
        return self._provisioning().get("cluster_purpose")

    @property
    def agent_count(self) -> int | None:
        return self._provisioning().get("agent_count")

    @property
    def agent_vm_size(self) -> str | None:
        return self._provisioning().get("vm_size")

    @property
    def cluster_fqdn(self) -> str | None:
        """The API server's host name (v1: the AKS cluster's FQDN)."""
        from urllib.parse import urlsplit

        server = self.cluster_resource_id
        return urlsplit(server).hostname if server else None

    def _provisioning(self) -> dict[str, Any]:
        return dict(self._record.extra.get("provisioning") or {})

    # -- lifecycle -------------------------------------------------------------------------
    @staticmethod
    def list(workspace: Workspace) -> builtins.list[ComputeTarget]:
        return [ComputeTarget(workspace, r.name) for r in computes.list_computes(workspace)]

    @staticmethod
    def attach(
        workspace: Workspace, name: str, attach_configuration: ComputeTargetAttachConfiguration
    ) -> ComputeTarget:
        """Record the cluster `attach_configuration` names (checked offline first)."""
        if not isinstance(attach_configuration, ComputeTargetAttachConfiguration):
            raise InvalidArgument(
                f"attach_configuration must come from attach_configuration(), not "
                f"{type(attach_configuration).__name__}.",
                hint="Use KubernetesCompute.attach_configuration(kubeconfig=..., context=...).",
            )
        computes.attach_compute(workspace, attach_configuration._record(name))
        return ComputeTarget(workspace, name)

    @staticmethod
    def create(
        workspace: Workspace,
        name: str,
        provisioning_configuration: ComputeTargetProvisioningConfiguration,
    ) -> ComputeTarget:
        """v1 provisions a cluster; modelport attaches one (the subclass's config says which)."""
        if not isinstance(provisioning_configuration, ComputeTargetProvisioningConfiguration):
            raise InvalidArgument(
                f"provisioning_configuration must come from provisioning_configuration(), not "
                f"{type(provisioning_configuration).__name__}.",
                hint="Use AksCompute.provisioning_configuration(...).",
            )
        record = provisioning_configuration._create(workspace, name)
        computes.attach_compute(workspace, record)
        return ComputeTarget(workspace, name)

    def wait_for_completion(
        self,
        show_output: bool = False,
        min_node_count: int | None = None,
        timeout_in_minutes: int = 20,
        is_delete_operation: bool = False,
    ) -> None:
        """Check the attached cluster once (there is no provisioning to wait for); raise
        ComputeTargetException when it failed."""
        warn_ignored(
            "ComputeTarget.wait_for_completion",
            {"min_node_count": min_node_count, "is_delete_operation": is_delete_operation},
            dict.fromkeys(
                ("min_node_count", "is_delete_operation"),
                "nothing is provisioned or deleted: the attached cluster is checked once",
            ),
        )
        state = self.get_status()
        if show_output:
            reason = f"; {self._error()}" if self.provisioning_errors else ""
            print(f"{self.name}: {state} ({self._summary()}{reason})", flush=True)
        if state == FAILED:
            raise ComputeTargetException(
                f"Compute target '{self.name}' is {state}: {self._error()}.",
                hint="Check the cluster with `modelport compute show NAME`.",
            )

    def get_status(self) -> str:
        """v1's provisioning state, from the cluster now: Succeeded when it answers, Failed
        (reasons in `provisioning_errors`) when it does not or its kubeconfig broke."""
        self.refresh_state()
        return str(self.provisioning_state)

    def refresh_state(self) -> None:
        self._record = computes.get_compute(self.workspace, self.name)
        state, error = self._live_status()
        self.provisioning_state = state
        self.provisioning_errors = [{"error": {"message": error}}] if error else None

    def _live_status(self) -> tuple[str, str | None]:
        try:
            check_context(self._record.kubeconfig, self._record.context)
        except InvalidComputeConfig as exc:
            return FAILED, exc.message
        return _cluster_status(self._record)

    def detach(self) -> None:
        """Forget the compute; refused while services deployed to it exist."""
        users = _services_on(self.workspace, self._record)
        if users:
            raise Conflict(
                f"Compute target '{self.name}' runs service(s) {', '.join(users)}.",
                hint="Delete them first (modelport service delete NAME).",
            )
        computes.detach_compute(self.workspace, self.name)

    def delete(self) -> None:
        """v1 deletes the cluster; modelport never does: it detaches it and says so."""
        warnings.warn(
            f"modelport does not delete clusters: ComputeTarget.delete() detaches "
            f"'{self.name}'; the cluster itself keeps running.",
            ComputeWarning,
            stacklevel=2,
        )
        self.detach()

    def serialize(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "compute_type": self._record.compute_type,
            "kubeconfig": self.kubeconfig,
            "context": self.context,
            "namespace": self.namespace,
            "server": self.cluster_resource_id,
            "provisioning_state": self.provisioning_state,
            "provisioning_errors": self.provisioning_errors,
            "created_on": self.created_on,
        }

    def _summary(self) -> str:
        if self._record.compute_type != "kubernetes":
            return "this machine"
        where = self.kubeconfig or "the default kubeconfig"
        return (
            f"context '{self.context}' of {where}, namespace '{self.namespace}', "
            f"server {self.cluster_resource_id}"
        )

    def _error(self) -> str:
        errors = self.provisioning_errors or [{"error": {"message": "unknown error"}}]
        return "; ".join(e["error"]["message"] for e in errors)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace!r}, name={self.name!r})"


class KubernetesCompute(ComputeTarget):
    """Any Kubernetes cluster a kubeconfig reaches."""

    type: ClassVar[str] = "Kubernetes"

    @staticmethod
    def attach_configuration(
        kubeconfig: str | None = None,
        context: str | None = None,
        namespace: str = "default",
        *,
        exposure: str | None = None,
        image_transfer: str | None = None,
        node_address: str | None = None,
        pull_registry: str | None = None,
        containerd_socket: str | None = None,
        public_url: str | None = None,
        shared_storage: bool | None = None,
    ) -> ComputeTargetAttachConfiguration:
        """The cluster of `context` (None: the current one) in `kubeconfig` (None: $KUBECONFIG,
        else ~/.kube/config); services go to `namespace`.

        How services are reached and how images get there (docs/deploy.md, Kubernetes):
        `exposure` "load-balancer" (default), "cluster-ip" (with your Ingress at `public_url`)
        or "host-network" (a single-node cluster on this machine, at `node_address`);
        `image_transfer` "registry" (default: push to the workspace's registry, pulled as
        `pull_registry` when the nodes see it at another address) or "containerd" (import
        into the node's containerd at `containerd_socket`). `shared_storage=True` says every
        node mounts this machine's workspace, source and input folders at the same paths, so
        batch steps may run shards there (`ParallelRunConfig(node_count>1)`, docs/batch.md);
        without it only a host-network compute on a loopback node address (this machine)
        qualifies."""
        from modelport.targets.kubernetes.images import TRANSFERS
        from modelport.targets.kubernetes.manifests import EXPOSURES

        for what, value, allowed in (
            ("exposure", exposure, EXPOSURES),
            ("image_transfer", image_transfer, TRANSFERS),
        ):
            if value is not None and value not in allowed:
                raise InvalidComputeConfig(
                    f"{what}={value!r} is not valid: use {', '.join(allowed)}.",
                    hint="See the Kubernetes part of docs/deploy.md.",
                )
        options: dict[str, Any] = {
            "exposure": exposure,
            "image_transfer": image_transfer,
            "node_address": node_address,
            "pull_registry": pull_registry,
            "containerd_socket": containerd_socket,
            "public_url": public_url,
            "shared_storage": shared_storage,
        }
        return ComputeTargetAttachConfiguration(
            kubeconfig,
            context,
            namespace,
            "Kubernetes",
            options={k: v for k, v in options.items() if v is not None},
        )


class AksCompute(ComputeTarget):
    """v1's Azure Kubernetes Service compute: here any Kubernetes cluster, by kube context."""

    type: ClassVar[str] = "AKS"

    class ClusterPurpose:
        """v1's cluster purposes; modelport records the one given and changes nothing by it."""

        FAST_PROD = "FastProd"
        DEV_TEST = "DevTest"

    @staticmethod
    def attach_configuration(
        resource_group: str | None = None,
        cluster_name: str | None = None,
        resource_id: str | None = None,
        cluster_purpose: str | None = None,
    ) -> ComputeTargetAttachConfiguration:
        """v1 attaches an AKS cluster by Azure resource; modelport attaches the kube context
        named `cluster_name` (what `az aks get-credentials` creates) if the default kubeconfig
        has one, else the current context."""
        warn_ignored(
            "AksCompute.attach_configuration",
            {"resource_group": resource_group, "resource_id": resource_id},
            dict.fromkeys(
                ("resource_group", "resource_id"),
                "an Azure resource; modelport "
                "attaches a kube context (KubernetesCompute.attach_configuration)",
            ),
        )
        context = cluster_name if cluster_name and _has_context(cluster_name) else None
        purpose = {"cluster_purpose": cluster_purpose} if cluster_purpose else {}
        return ComputeTargetAttachConfiguration(None, context, "default", "AKS", purpose)

    @staticmethod
    def provisioning_configuration(
        agent_count: int | None = None,
        vm_size: str | None = None,
        ssl_cname: str | None = None,
        ssl_cert_pem_file: str | None = None,
        ssl_key_pem_file: str | None = None,
        location: str | None = None,
        vnet_resourcegroup_name: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
        service_cidr: str | None = None,
        dns_service_ip: str | None = None,
        docker_bridge_cidr: str | None = None,
        cluster_purpose: str | None = None,
        load_balancer_type: str | None = None,
        load_balancer_subnet: str | None = None,
    ) -> AksProvisioningConfiguration:
        """v1's AKS cluster settings, accepted (one warning names those given) and kept for
        display; `ComputeTarget.create` attaches the current kube context instead."""
        settings = {k: v for k, v in locals().items() if v is not None}
        warn_ignored(
            "AksCompute.provisioning_configuration", settings, dict.fromkeys(settings, _AZURE_ONLY)
        )
        return AksProvisioningConfiguration(settings)


class AmlCompute(ComputeTarget):
    """v1's training/batch cluster: recorded as this machine (pipeline steps run here)."""

    type: ClassVar[str] = "AmlCompute"
    _compute_type: ClassVar[str] = "amlcompute"

    @staticmethod
    def provisioning_configuration(
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
        admin_username: str | None = None,
        admin_user_password: str | None = None,
        admin_user_ssh_key: str | None = None,
        vnet_resourcegroup_name: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        remote_login_port_public_access: str = "NotSpecified",
        identity_type: str | None = None,
        identity_id: list[str] | None = None,
        location: str | None = None,
        enable_node_public_ip: bool = True,
    ) -> AmlComputeProvisioningConfiguration:
        """v1's AmlCompute settings, accepted and kept (secrets dropped); one warning names
        those given."""
        given = {
            k: v
            for k, v in locals().items()
            if v is not None and v != _AML_DEFAULTS.get(k) and k != "admin_user_password"
        }
        warn_ignored(
            "AmlCompute.provisioning_configuration",
            given,
            dict.fromkeys(given, "an Azure cluster setting; AmlCompute runs on this machine"),
        )
        return AmlComputeProvisioningConfiguration(given)

    def _live_status(self) -> tuple[str, str | None]:
        return SUCCEEDED, None  # this machine is the compute, and it is running this code


_AML_DEFAULTS: dict[str, Any] = {
    "vm_size": "",
    "vm_priority": "dedicated",
    "min_nodes": 0,
    "remote_login_port_public_access": "NotSpecified",
    "enable_node_public_ip": True,
}
_CLASSES: dict[str, type[ComputeTarget]] = {
    "Kubernetes": KubernetesCompute,
    "AKS": AksCompute,
    "AmlCompute": AmlCompute,
}


def _class_of(record: ComputeRecord) -> type[ComputeTarget]:
    default = AmlCompute if record.compute_type == "amlcompute" else KubernetesCompute
    return _CLASSES.get(str(record.extra.get(_V1_TYPE)), default)


def _has_context(name: str) -> bool:
    try:
        check_context(None, name)
    except InvalidComputeConfig:
        return False
    return True


def _cluster_status(record: ComputeRecord) -> tuple[str, str | None]:
    """The Kubernetes target's view of the cluster (it alone talks to clusters); Unknown, with
    the reason, when no target for the compute's type is installed."""
    from modelport.deploy.target import get_target

    try:
        target = get_target(record.compute_type)
    except InvalidArgument as exc:
        return UNKNOWN, f"the cluster was not contacted: {exc.message}"
    cluster_status = getattr(target, "cluster_status", None)
    if cluster_status is None:
        return UNKNOWN, f"the {record.compute_type} target cannot check clusters"
    status: tuple[str, str | None] = cluster_status(record)
    return status


def _services_on(workspace: Workspace, record: ComputeRecord) -> builtins.list[str]:
    """Services deployed to `record`: naming it, or naming none while it is the only one."""
    sole = [c.name for c in computes.list_computes(workspace, record.compute_type)] == [record.name]
    names = []
    for name in control.service_names(workspace):
        config = control.get_document(workspace, name)["deployment_config"]
        named = config.get("compute_target")
        if named == record.name or (
            named is None and sole and config["compute_type"] == record.compute_type
        ):
            names.append(name)
    return names
