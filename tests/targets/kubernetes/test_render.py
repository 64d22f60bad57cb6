"""`modelport k8s render`: the manifests as YAML, valid against current Kubernetes schemas
(kubernetes-validate, offline) and accepted by the test cluster (server-side dry run)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from modelport.core import Workspace
from tests.conftest import run_cli


def _render(tmp_path: Path, ws: Workspace, *extra: str) -> list[Path]:
    script = tmp_path / "score.py"
    script.write_text("def init():\n    pass\n\ndef run(raw):\n    return raw\n")
    ic = tmp_path / "inferenceconfig.json"
    ic.write_text(json.dumps({"entryScript": "score.py"}))
    dc = tmp_path / "deploymentconfig.json"
    dc.write_text(json.dumps({"computeType": "AKS", "authEnabled": True}))
    out = tmp_path / "out"
    result = run_cli(
        "k8s",
        "render",
        "-w",
        str(ws.path),
        "-n",
        "gitops",
        "--ic",
        str(ic),
        "--dc",
        str(dc),
        "-o",
        str(out),
        "--image",
        "registry.example.com/gitops:1",
        *extra,
    )
    assert result.returncode == 0, result.stderr
    return [Path(line) for line in result.stdout.split()]


def test_rendered_manifests_are_valid_for_current_kubernetes(
    sqlite_ws: Workspace, tmp_path: Path
) -> None:
    import kubernetes_validate

    files = _render(tmp_path, sqlite_ws)
    kinds = [yaml.safe_load(f.read_text())["kind"] for f in files]
    assert kinds == [
        "Secret",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    ]
    for path in files:
        kubernetes_validate.validate(yaml.safe_load(path.read_text()), "1.30", strict=True)
    assert (files[0].stat().st_mode & 0o777) == 0o600  # the keys
    deployment = yaml.safe_load(files[1].read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/gitops:1"
    assert "--auth-keys-file" in container["command"]
    service = yaml.safe_load(files[2].read_text())
    assert service["spec"]["type"] == "LoadBalancer"
    labels = {
        yaml.safe_load(f.read_text())["metadata"]["labels"]["modelport.io/service"] for f in files
    }
    assert labels == {"gitops"}


def test_render_refuses_a_folder_that_is_not_empty(sqlite_ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    (tmp_path / "score.py").write_text("def init():\n    pass\n\ndef run(raw):\n    return raw\n")
    result = run_cli(
        "k8s",
        "render",
        "-w",
        str(sqlite_ws.path),
        "--ic",
        "/dev/null",
        "-o",
        str(tmp_path / "out"),
        "--image",
        "x:1",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.kubernetes
def test_the_cluster_accepts_the_rendered_manifests(kube, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from modelport.deploy.computes import ComputeRecord, attach_compute

    ws = Workspace.create(tmp_path / "ws")
    attach_compute(ws, ComputeRecord("kube", kubeconfig=kube.kubeconfig))
    files = _render(tmp_path, ws, "--compute", "kube", "--exposure", "host-network")
    ws.close()
    result = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            kube.kubeconfig,
            "apply",
            "--dry-run=server",
            "-f",
            str(files[0].parent),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "horizontalpodautoscaler.autoscaling/gitops created (server dry run)" in result.stdout
