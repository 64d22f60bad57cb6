"""`modelport compute attach|list|show|detach` and `model deploy --compute-target`, as a user
types them (real subprocesses, a real workspace)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compute.conftest import (
    kubernetes_target_status,
    refused_kubeconfig_in,
    write_kubeconfig,
)
from tests.conftest import run_cli

ECHO = Path(__file__).parents[1] / "deploy" / "scripts" / "echo.py"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert run_cli("workspace", "create", cwd=tmp_path).returncode == 0
    return tmp_path


@pytest.fixture
def refused_kubeconfig(tmp_path: Path) -> Iterator[Path]:
    with refused_kubeconfig_in(tmp_path) as path:
        yield path


def test_attach_list_show_detach(project: Path, refused_kubeconfig: Path) -> None:
    attached = run_cli(
        "compute",
        "attach",
        "k8s",
        "--kubeconfig",
        str(refused_kubeconfig),
        "--context",
        "staging",
        "--namespace",
        "ml",
        cwd=project,
    )
    assert attached.returncode == 0, attached.stderr
    assert attached.stdout.strip() == (
        f"Attached 'k8s': context 'staging' of {refused_kubeconfig.resolve()}, namespace 'ml'."
    )
    listed = run_cli("compute", "list", "-o", "json", cwd=project)
    assert [(c["name"], c["type"], c["context"]) for c in json.loads(listed.stdout)] == [
        ("k8s", "Kubernetes", "staging")
    ]
    assert "k8s" in run_cli("compute", "list", cwd=project).stdout

    shown = run_cli("compute", "show", "k8s", "-o", "json", cwd=project)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    expected = "Unknown" if kubernetes_target_status() is None else "Failed"
    assert data["provisioning_state"] == expected and data["provisioning_errors"]
    assert data["namespace"] == "ml" and data["server"].startswith("https://127.0.0.1:")
    assert "provisioning_state" in run_cli("compute", "show", "k8s", cwd=project).stdout

    detached = run_cli("compute", "detach", "k8s", cwd=project)
    assert (detached.returncode, detached.stdout.strip()) == (0, "Detached 'k8s'.")
    assert json.loads(run_cli("compute", "list", "-o", "json", cwd=project).stdout) == []


@pytest.mark.parametrize(
    ("content", "context", "message"),
    [
        (None, None, "does not exist."),
        ("clusters: [oops\n", None, "cannot be read: while parsing"),
        ("good", "prod", "has no context 'prod' (it has: dev)."),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    project: Path, content: str | None, context: str | None, message: str
) -> None:
    path = project / "kubeconfig"
    if content == "good":
        write_kubeconfig(path, "https://127.0.0.1:1")
    elif content is not None:
        path.write_text(content)
    args = ["compute", "attach", "bad", "--kubeconfig", str(path)]
    result = run_cli(*args, *(["--context", context] if context else []), cwd=project)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert json.loads(run_cli("compute", "list", "-o", "json", cwd=project).stdout) == []


def test_unknown_names_list_the_attached_ones(project: Path, refused_kubeconfig: Path) -> None:
    run_cli("compute", "attach", "k8s", "--kubeconfig", str(refused_kubeconfig), cwd=project)
    for args in (["compute", "show", "nope"], ["compute", "detach", "nope"]):
        result = run_cli(*args, cwd=project)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "No compute target named 'nope' in this workspace (attached: k8s)." in result.stderr
    bad_namespace = run_cli(
        "compute",
        "attach",
        "x",
        "--kubeconfig",
        str(refused_kubeconfig),
        "--namespace",
        "A_B",
        cwd=project,
    )
    assert bad_namespace.returncode == 2
    assert "namespace='A_B' is not a Kubernetes namespace" in bad_namespace.stderr


def test_model_deploy_takes_a_compute_target(project: Path, refused_kubeconfig: Path) -> None:
    assert "--compute-target NAME" in run_cli("model", "deploy", "--help").stdout
    ic = project / "inferenceconfig.json"
    ic.write_text(json.dumps({"entryScript": str(ECHO)}))
    missing = run_cli(
        "model", "deploy", "-n", "svc", "--ic", str(ic), "--compute-target", "aks", cwd=project
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "No compute target named 'aks' in this workspace (attached: none)." in missing.stderr

    run_cli("compute", "attach", "k8s", "--kubeconfig", str(refused_kubeconfig), cwd=project)
    dc = project / "deploymentconfig.json"
    dc.write_text(json.dumps({"computeType": "local"}))
    mismatch = run_cli(
        "model",
        "deploy",
        "-n",
        "svc",
        "--ic",
        str(ic),
        "--dc",
        str(dc),
        "--compute-target",
        "k8s",
        cwd=project,
    )
    assert mismatch.returncode == 2
    assert "is a kubernetes cluster, but the deployment config is for local" in mismatch.stderr
