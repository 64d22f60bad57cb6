"""The README's first command runs the demo; this keeps it working."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from modelport.core import Model, Workspace
from modelport.core.webservice import Webservice

ROOT = Path(__file__).resolve().parents[1]


def _in_process_predictions(ws_dir: Path) -> list[float]:
    """The registered model's predictions for the demo's two rows, computed here."""
    import joblib
    import numpy as np

    ws = Workspace.get(ws_dir)
    try:
        path = Model(ws, "sklearn_regression").download(ws_dir.parent / "check", exist_ok=True)
    finally:
        ws.close()
    sample = np.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]])
    return joblib.load(path).predict(sample).tolist()


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
        [scored] = [line for line in result.stdout.splitlines() if line.startswith("6. scored")]
        assert scored.startswith("6. scored     HTTP 200 ")
        # the seed script answers 200 with str(e) when predict fails: compare the numbers
        answer = ast.literal_eval(scored.split(": ", 1)[1])  # printed as a Python value
        assert answer == pytest.approx(_in_process_predictions(ws_dir))
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
