"""`modelport.core.compute` as v1 code uses it: attach, list, open, status, create, detach."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from modelport.configs import DeploymentConfig
from modelport.core.compute import (
    AksCompute,
    AmlCompute,
    ComputeTarget,
    ComputeTargetException,
    ComputeWarning,
    KubernetesCompute,
)
from modelport.core.model import Model
from modelport.core.webservice import AksWebservice, LocalWebservice
from modelport.core.workspace import Workspace
from modelport.errors import (
    AlreadyExists,
    InvalidArgument,
    InvalidComputeConfig,
    NotFound,
)
from modelport.exceptions import ComputeTargetException as FromExceptions
from tests.compute.conftest import kubernetes_target_status, write_kubeconfig


def test_attach_list_open_detach(ws: Workspace, refused_kubeconfig: Path) -> None:
    config = KubernetesCompute.attach_configuration(
        kubeconfig=str(refused_kubeconfig), context="staging", namespace="ml"
    )
    attached = ComputeTarget.attach(ws, "k8s", config)
    assert type(attached) is KubernetesCompute and attached.type == "Kubernetes"
    assert (attached.kubeconfig, attached.context, attached.namespace) == (
        str(refused_kubeconfig.resolve()),
        "staging",
        "ml",
    )
    assert attached.provisioning_state == "Succeeded"
    assert attached.cluster_resource_id and attached.cluster_resource_id.startswith(
        "https://127.0.0.1:"
    )
    # the current context is pinned by name at attach time
    default = ComputeTarget.attach(
        ws, "k8s-default", KubernetesCompute.attach_configuration(str(refused_kubeconfig))
    )
    assert default.context == "dev"

    assert [c.name for c in ComputeTarget.list(ws)] == ["k8s", "k8s-default"]
    assert set(ws.compute_targets) == {"k8s", "k8s-default"}
    opened = ComputeTarget(ws, "k8s")
    assert type(opened) is KubernetesCompute and opened.serialize()["namespace"] == "ml"
    with pytest.raises(AlreadyExists, match="already attached"):
        ComputeTarget.attach(ws, "k8s", config)

    opened.detach()
    assert [c.name for c in ComputeTarget.list(ws)] == ["k8s-default"]
    with pytest.raises(ComputeTargetException) as caught:
        ComputeTarget(ws, "k8s")
    assert isinstance(caught.value, NotFound) and isinstance(caught.value, FromExceptions)
    assert "No compute target named 'k8s' in this workspace (attached: k8s-default)" in str(
        caught.value
    )


def test_bad_kubeconfigs_are_one_line_errors(sqlite_ws: Workspace, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    broken = tmp_path / "broken.yaml"
    broken.write_text("clusters: [unclosed\n")
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    good = write_kubeconfig(tmp_path / "good.yaml", "https://127.0.0.1:1")
    cases = [
        (missing, None, f"The kubeconfig file {missing} does not exist."),
        (broken, None, f"The kubeconfig file {broken} cannot be read: while parsing"),
        (listed, None, f"The kubeconfig file {listed} cannot be read: it is not a kubeconfig"),
        (good, "prod", f"The kubeconfig file {good} has no context 'prod' (it has: dev)."),
    ]
    for path, context, message in cases:
        config = KubernetesCompute.attach_configuration(str(path), context)
        with pytest.raises(InvalidComputeConfig) as caught:
            ComputeTarget.attach(sqlite_ws, "bad", config)
        assert str(caught.value).startswith(message), str(caught.value)
        assert "\n" not in str(caught.value) and caught.value.hint
        assert isinstance(caught.value, ComputeTargetException)
    assert ComputeTarget.list(sqlite_ws) == []  # nothing half-attached
    with pytest.raises(InvalidComputeConfig, match="namespace='Bad_NS' is not a Kubernetes"):
        KubernetesCompute.attach_configuration(str(good), namespace="Bad_NS")


def test_status_follows_the_kubeconfig_and_the_cluster(
    sqlite_ws: Workspace, refused_kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compute = ComputeTarget.attach(
        sqlite_ws, "k8s", KubernetesCompute.attach_configuration(str(refused_kubeconfig))
    )
    state = compute.get_status()
    if kubernetes_target_status() is None:
        assert state == "Unknown"
        assert "not contacted" in compute._error() and "kubernetes" in compute._error()
        compute.wait_for_completion(show_output=True)  # nothing failed: it says why
    else:
        assert state == "Failed" and compute.provisioning_errors
        with pytest.raises(ComputeTargetException, match="is Failed"):
            compute.wait_for_completion(show_output=True)
    assert capsys.readouterr().out.startswith(f"k8s: {state} (context 'dev' of ")

    refused_kubeconfig.write_text("{not: yaml: at all")  # broken after the attach
    assert compute.get_status() == "Failed"
    assert "cannot be read" in compute._error()
    with pytest.raises(ComputeTargetException, match="Compute target 'k8s' is Failed"):
        compute.wait_for_completion()


def test_create_attaches_the_current_context_and_says_so(
    sqlite_ws: Workspace,
    refused_kubeconfig: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(refused_kubeconfig))
    with pytest.warns(Warning) as caught:
        config = AksCompute.provisioning_configuration(
            agent_count=3, vm_size="Standard_D3_v2", location="eastus"
        )
        aks = ComputeTarget.create(sqlite_ws, "aks-1", config)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert "ignoring agent_count, vm_size, location (an Azure provisioning setting" in messages[0]
    assert messages[1] == (
        "modelport does not create clusters: ComputeTarget.create attaches 'aks-1' to the "
        f"cluster of the current kube context 'dev' ({refused_kubeconfig.resolve()})."
    )
    assert type(aks) is AksCompute and aks.type == "AKS"
    assert (aks.context, aks.kubeconfig) == ("dev", str(refused_kubeconfig.resolve()))
    assert (aks.agent_count, aks.agent_vm_size, aks.cluster_fqdn) == (
        3,
        "Standard_D3_v2",
        "127.0.0.1",
    )
    assert type(ComputeTarget(sqlite_ws, "aks-1")) is AksCompute
    with pytest.raises(ComputeTargetException, match="'aks-1' is of type AKS, not AmlCompute"):
        AmlCompute(sqlite_ws, "aks-1")

    # v1's attach form: the context named after the cluster, else the current one
    with pytest.warns(Warning, match="ignoring resource_group"):
        named = AksCompute.attach_configuration(resource_group="rg", cluster_name="staging")
    assert ComputeTarget.attach(sqlite_ws, "aks-2", named).context == "staging"
    other = AksCompute.attach_configuration(cluster_name="elsewhere", cluster_purpose="DevTest")
    attached = ComputeTarget.attach(sqlite_ws, "aks-3", other)
    assert (attached.context, attached.cluster_purpose) == (
        "dev",
        AksCompute.ClusterPurpose.DEV_TEST,
    )

    with pytest.warns(ComputeWarning, match="does not delete clusters"):
        attached.delete()
    assert [c.name for c in ComputeTarget.list(sqlite_ws)] == ["aks-1", "aks-2"]


def test_create_without_any_kubeconfig_says_what_to_do(
    sqlite_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    config = AksCompute.provisioning_configuration()
    with pytest.raises(InvalidComputeConfig) as caught:
        ComputeTarget.create(sqlite_ws, "aks", config)
    assert "does not exist" in caught.value.message and "$KUBECONFIG" in str(caught.value.hint)


def test_amlcompute_is_this_machine_and_not_a_deploy_target(
    sqlite_ws: Workspace, refused_kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.warns(Warning) as caught:
        config = AmlCompute.provisioning_configuration(
            vm_size="STANDARD_D2_V2", max_nodes=4, admin_user_password="secret"
        )
        cpu = ComputeTarget.create(sqlite_ws, "cpu-cluster", config)
    assert "ignoring vm_size, max_nodes (" in str(caught[0].message)
    assert "secret" not in str(caught[0].message) and "secret" not in str(cpu.serialize())
    assert "recorded as this machine" in str(caught[1].message)
    assert type(cpu) is AmlCompute and cpu.get_status() == "Succeeded"
    cpu.wait_for_completion(show_output=True)
    assert capsys.readouterr().out == "cpu-cluster: Succeeded (this machine)\n"

    with pytest.raises(
        InvalidArgument, match=r"is an AmlCompute .*KubernetesCompute \(which runs batch steps"
    ):
        Model.deploy(sqlite_ws, "svc", [], deployment_target=cpu)


def test_deploy_checks_the_target_before_anything_starts(
    sqlite_ws: Workspace, refused_kubeconfig: Path
) -> None:
    with pytest.raises(NotFound, match=r"No compute target named 'aks' .*\(attached: none\)"):
        Model.deploy(sqlite_ws, "svc", [], deployment_target="aks")
    ComputeTarget.attach(
        sqlite_ws, "k8s", KubernetesCompute.attach_configuration(str(refused_kubeconfig))
    )
    local = LocalWebservice.deploy_configuration()
    with pytest.raises(InvalidArgument, match="is a kubernetes cluster, but the deployment"):
        Model.deploy(sqlite_ws, "svc", [], deployment_config=local, deployment_target="k8s")
    named = AksWebservice.deploy_configuration(compute_target_name="other")
    with pytest.raises(InvalidArgument, match="names compute target 'other' but"):
        Model.deploy(sqlite_ws, "svc", [], deployment_config=named, deployment_target="k8s")
    assert not list(sqlite_ws.webservices)


def test_v1_notebook_code_runs(
    sqlite_ws: Workspace,
    refused_kubeconfig: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The AKS cells of v1 deployment notebooks, with only the imports changed."""
    monkeypatch.setenv("KUBECONFIG", str(refused_kubeconfig))
    ws = sqlite_ws
    namespace: dict[str, object] = {"ws": ws}
    source = """
from modelport.core.compute import AksCompute, ComputeTarget
from modelport.core.compute_target import ComputeTargetException
from modelport.core.webservice import AksWebservice

aks_name = "myaks"
try:
    aks_target = ComputeTarget(workspace=ws, name=aks_name)
    print("Found existing cluster, use it.")
except ComputeTargetException:
    prov_config = AksCompute.provisioning_configuration(
        cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
    )
    aks_target = ComputeTarget.create(
        workspace=ws, name=aks_name, provisioning_configuration=prov_config
    )
try:
    aks_target.wait_for_completion(show_output=True)
except ComputeTargetException as e:
    print("not reachable:", e.message)
print(aks_target.provisioning_state)
print(aks_target.provisioning_errors)

aks_config = AksWebservice.deploy_configuration(
    autoscale_enabled=True,
    autoscale_min_replicas=1,
    autoscale_max_replicas=3,
    cpu_cores=1,
    memory_gb=1,
    enable_app_insights=False,
    collect_model_data=True,
    auth_enabled=True,
)
"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(source, "v1_notebook.py", "exec"), namespace)
        exec(compile(source, "v1_notebook.py", "exec"), namespace)  # the second run finds it
    out = capsys.readouterr().out
    assert "Found existing cluster, use it." in out
    assert out.count("myaks: ") == 2
    assert sum("does not create clusters" in str(w.message) for w in caught) == 1
    assert type(namespace["aks_target"]) is AksCompute
    config = namespace["aks_config"]
    assert isinstance(config, DeploymentConfig)
    assert (config.compute_type, config.autoscale_max_replicas) == ("kubernetes", 3)
