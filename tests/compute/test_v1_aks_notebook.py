"""A v1 AKS notebook's cells as written for Azure (azureml imports): `migrate check` finds every
name supported or ignored with a reason, `migrate apply` ports it, and the ported code runs."""

from __future__ import annotations

import runpy
import warnings
from pathlib import Path

import pytest

from modelport.core.compute import AksCompute
from modelport.core.workspace import Workspace
from modelport.migrate.report import apply, check

V1_SOURCE = """
from azureml.core import Workspace
from azureml.core.compute import AksCompute, ComputeTarget
from azureml.core.compute_target import ComputeTargetException
from azureml.core.webservice import AksWebservice
from azureml.exceptions import ComputeTargetException as AlsoThis

ws = Workspace.from_config(path=WS_CONFIG)
aks_name = "my-aks"
try:
    aks_target = ComputeTarget(workspace=ws, name=aks_name)
except ComputeTargetException:
    prov_config = AksCompute.provisioning_configuration(
        agent_count=3, vm_size="Standard_D3_v2", cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
    )
    aks_target = ComputeTarget.create(
        workspace=ws, name=aks_name, provisioning_configuration=prov_config
    )
    try:
        aks_target.wait_for_completion(show_output=True)
    except AlsoThis as e:
        print("not reachable:", e.message)
print(aks_target.provisioning_state, aks_target.provisioning_errors)
print(aks_target.cluster_purpose, aks_target.agent_count)

aks_config = AksWebservice.deploy_configuration(
    cpu_cores=1,
    memory_gb=1,
    autoscale_enabled=True,
    autoscale_min_replicas=1,
    autoscale_max_replicas=4,
    autoscale_target_utilization=60,
    enable_app_insights=True,
    collect_model_data=True,
    namespace="scoring",
    period_seconds=5,
    initial_delay_seconds=30,
)
for name, target in ws.compute_targets.items():
    print(name, target.type)
"""


def test_check_apply_and_run(
    sqlite_ws: Workspace,
    refused_kubeconfig: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = tmp_path / "aks_notebook.py"
    script.write_text(V1_SOURCE)
    report = check([str(script)])
    by_status: dict[str, list[str]] = {}
    for use in report.uses:
        by_status.setdefault(use.status, []).append(use.name)
    assert not by_status.get("unsupported"), by_status.get("unsupported")
    ignored = set(by_status["ignored"])
    assert "AksWebservice.deploy_configuration(enable_app_insights=)" in ignored
    assert "AksCompute.provisioning_configuration(vm_size=)" in ignored
    assert "AksWebservice.deploy_configuration(autoscale_max_replicas=)" in by_status["supported"]
    assert "ComputeTarget.create" in by_status["supported"]

    apply([str(script)], dry_run=False)
    ported = script.read_text()
    assert "azureml" not in ported.replace("azureml.exceptions", "")  # exceptions: see below
    assert "from modelport.core.compute import AksCompute, ComputeTarget" in ported

    monkeypatch.setenv("KUBECONFIG", str(refused_kubeconfig))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # each warning is asserted in test_compute.py
        runpy.run_path(str(script), {"WS_CONFIG": str(sqlite_ws.path)})
    out = capsys.readouterr().out
    assert "my-aks: " in out and "DevTest 3" in out and "my-aks AKS" in out
    assert isinstance(Workspace.get(str(sqlite_ws.path)).compute_targets["my-aks"], AksCompute)
