"""`modelport serve --model NAME[:VERSION]` serves registered models with the v1 layout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from modelport.core import Model, Workspace
from tests.conftest import SEED_SCORE

SCORE = SEED_SCORE


def test_serve_a_registered_model_by_name(tmp_path: Path, model_file: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    Model.register(ws, model_file, "sklearn_regression")
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelport.cli.main",
            "serve",
            "-w",
            str(ws.path),
            "--entry-script",
            str(SCORE),
            "--model",
            "sklearn_regression:1",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--workers",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and not ready:
            assert proc.poll() is None, proc.communicate()
            if port_file.exists() and port_file.read_text():
                try:
                    port = int(port_file.read_text())
                    ready = httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        assert ready
        answer = httpx.post(f"http://127.0.0.1:{port}/score", json={"data": [[1] * 10]})
        assert answer.status_code == 200 and len(answer.json()) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_serve_with_an_unknown_model_is_a_one_line_error(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    ws = Workspace.create(tmp_path / "ws")
    result = run_cli(
        "serve", "-w", str(ws.path), "--entry-script", str(SCORE), "--model", "ghost:1"
    )
    assert result.returncode == 2
    assert "not registered" in result.stderr and "Traceback" not in result.stderr
