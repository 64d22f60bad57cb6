"""The v1 scripts in tests/v1compat/v1/ (azureml imports, as notebooks write them) port with
`modelport migrate apply` alone: `migrate check` finds nothing unsupported, and the ported
scripts run to the end against a fresh local workspace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelport.migrate.report import apply, check

V1 = Path(__file__).parent / "v1"
TESTS = Path(__file__).parents[1]
# Every v1 notebook and script the tests keep, apart from the migrate tests' own fixtures
# (which hold unsupported names on purpose, to test the report).
V1_SOURCES = [V1, TESTS / "scoring" / "scripts", TESTS / "deploy" / "scripts"]


def test_migrate_check_finds_nothing_unsupported_in_the_tests_v1_code() -> None:
    report = check([str(p) for p in V1_SOURCES])
    assert len(report.files) >= 23 and report.uses
    unsupported = [f"{u.path}:{u.line} {u.name}" for u in report.uses if u.status == "unsupported"]
    assert unsupported == []


def _ported(tmp_path: Path) -> Path:
    folder = tmp_path / "notebook"
    shutil.copytree(V1, folder)
    changes = apply([str(folder)], dry_run=False)
    changed = {Path(c.path).name for c in changes if c.changed}
    assert {"environment_names.py", "deploy_names.py"} <= changed
    assert "score.py" not in changed  # entry scripts keep their imports (the service has them)
    (folder / "config.json").write_text(
        json.dumps({"subscription_id": "local", "resource_group": "rg", "workspace_name": "ws"})
    )
    return folder


def _run(folder: Path, script: str, timeout: float = 900) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "MODELPORT_"))}
    # No container engine here: container configs and Image.create fall back, with warnings.
    env["MODELPORT_CONTAINER_ENGINE"] = f"unix://{folder}/no-engine.sock"
    done = subprocess.run(
        [sys.executable, "-W", "always", script],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"result": json.loads(done.stderr.strip().splitlines()[-1]), "log": done.stderr}


def test_environment_names_port_and_run(tmp_path: Path) -> None:
    folder = _ported(tmp_path)
    out = _run(folder, "environment_names.py")
    result = out["result"]
    assert result["pip"] == ["numpy>=1.24", "joblib"]
    assert result["pip_options"] == ["--extra-index-url https://example.org/extra"]
    assert result["conda"] == ["tensorflow-gpu"]
    assert result["channels"] == ["conda-forge"] and result["yaml_has_channel"]
    assert result["merged"] == ["numpy>=1.24,<3", "pandas"]
    assert result["loaded_pip"] == result["pip"]
    assert result["loaded_image"].startswith("mcr.microsoft.com/azureml/openmpi")
    assert result["shm_size"] == "4g"
    assert "DockerSection.shm_size is ignored" in out["log"]
    assert "SparkSection.packages is ignored" in out["log"]


@pytest.mark.timeout(1800)
def test_deployment_names_port_and_run(tmp_path: Path) -> None:
    folder = _ported(tmp_path)
    try:
        out = _run(folder, "deploy_names.py", timeout=1500)
    finally:
        _delete_services(folder)
    result = out["result"]
    assert result["first"] == "first" and result["reloaded"] == "second"
    assert result["found"] == ["local-svc"] and result["state_running"]
    assert result["cloud_type"] == "local"  # no engine: the container config ran locally
    assert result["image"] == ["legacy-image", 1, "Succeeded"]
    assert result["from_image"] == "second" and result["from_model"] == 1
    assert result["dataset"] == "profiling-requests"
    assert "No container engine" in out["log"]  # Image.create said it wrote the context


def _delete_services(folder: Path) -> None:
    """Stop whatever the script left running (it deletes its services itself on success)."""
    from modelport.core import Webservice, Workspace

    path = folder / ".modelport"
    if not path.exists():
        return
    ws = Workspace.get(path)
    try:
        for service in Webservice.list(ws):
            service.delete()
    finally:
        ws.close()
