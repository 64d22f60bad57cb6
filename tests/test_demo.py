"""The README's first command runs the demo; this keeps it working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from modelport.core import Workspace
from modelport.core.webservice import Webservice

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_registers_deploys_and_scores(tmp_path: Path) -> None:
    ws_dir = tmp_path / "demo-ws"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), str(ws_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    try:
        assert result.returncode == 0, result.stderr
        assert "6. scored     HTTP 200" in result.stdout
        assert "demo finished" in result.stdout
    finally:
        ws = Workspace.get(ws_dir)
        for service in Webservice.list(ws):
            service.delete()
        ws.close()


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    block = readme[readme.index("```bash") + 1 : readme.index("```")]
    assert [line.split()[0] for line in block] == ["./scripts/demo", "./scripts/test"]
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text()
