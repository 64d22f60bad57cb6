"""The `modelport migrate` commands: output formats, summary line and exit codes.

Every command runs in a subprocess: an in-process click invocation caches each command's help
option, which changes what `modelport.cli.reference` renders later in the same process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.migrate.conftest import REPO, SCRIPTS


def run(*args: str) -> tuple[int, str, str]:
    result = modelport("migrate", *args)
    return result.returncode, result.stdout, result.stderr


def modelport(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    code = "from modelport.cli.main import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_json_output_shape() -> None:
    code, out, _ = run("check", "-o", "json", str(SCRIPTS / "deploy.ipynb"))
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"files", "uses", "not_analysed", "summary"}
    assert set(data["uses"][0]) == {"path", "cell", "line", "kind", "name", "status", "why"}
    assert set(data["summary"]) == {"uses", "supported", "ignored", "unsupported", "not_analysed"}
    assert data["summary"]["uses"] == len(data["uses"])
    assert data["not_analysed"][0] == {
        "path": str(SCRIPTS / "deploy.ipynb"),
        "cell": 1,
        "line": 1,
        "why": "IPython line !pip",
    }


def test_plain_lines_and_summary_last() -> None:
    code, out, _ = run("check", "--plain", str(SCRIPTS / "deploy_v1.py"))
    lines = out.splitlines()
    assert code == 1  # list_keys is unsupported
    assert f"{SCRIPTS / 'deploy_v1.py'}:25: unsupported Workspace.list_keys (" in out
    assert lines[-1].endswith("supported, 1 ignored, 1 unsupported")


def test_table_output_for_people() -> None:
    code, out, _ = run("check", str(SCRIPTS / "deploy.ipynb"))
    assert code == 0
    assert "RunDetails.show" in out and "not analysed" in out
    assert out.splitlines()[-1].startswith("16 uses, 14 supported, 2 ignored, 0 unsupported")


def test_apply_dry_run_via_cli(samples: Path) -> None:
    code, out, err = run("apply", "--dry-run", str(samples / "train.ipynb"))
    assert code == 0
    assert '+      "source": "from modelport.core import Workspace' in out
    assert '+      "source": "from modelport.core import Workspace' in out
    assert "from modelport.core.compute import ComputeTarget, AmlCompute" in out
    assert out.splitlines()[-1] == "would rewrite 2 module names in 1 of 1 files"
    assert "kept azureml.train.hyperdrive (training" in err


def test_real_cli_exit_codes(samples: Path) -> None:
    ok = modelport("migrate", "check", "tests/scoring/scripts", "tests/deploy/scripts")
    assert (ok.returncode, ok.stderr) == (0, "")
    assert ok.stdout.splitlines()[-1].endswith("0 ignored, 0 unsupported")
    bad = modelport("migrate", "check", str(samples / "train.ipynb"))
    assert bad.returncode == 1


@pytest.mark.parametrize(
    ("arg", "message"),
    [("missing.py", "no such file or folder"), ("README.md", "not a .py or .ipynb file")],
)
def test_real_cli_user_mistakes_are_one_line(arg: str, message: str) -> None:
    result = modelport("migrate", "check", arg)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_real_cli_apply_writes(samples: Path) -> None:
    result = modelport("migrate", "apply", str(samples))
    assert result.returncode == 0, result.stderr
    assert "rewrote" in result.stdout
    assert "from modelport.telemetry import" in (samples / "deploy.ipynb").read_text()
