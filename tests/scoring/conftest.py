"""Real scoring-server processes on loopback; readiness is awaited via /readyz, never a sleep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

SCRIPTS = Path(__file__).parent / "scripts"
FEATURES = 10


def fit_ridge(seed: int = 0):
    import numpy as np
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(50, FEATURES))
    y = X @ rng.normal(size=FEATURES) + 3.0
    return Ridge().fit(X, y)


@pytest.fixture(scope="session")
def app_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app root laid out like a deployed service: scripts, note.txt and azureml-models/."""
    import joblib

    root = tmp_path_factory.mktemp("app")
    for script in SCRIPTS.glob("*.py"):
        (root / script.name).write_bytes(script.read_bytes())
    (root / "note.txt").write_text("hello from the app root\n")
    models = root / "azureml-models"
    layout = {("ridge", "1"): 0, ("ridge_a", "1"): 1, ("ridge_a", "2"): 2, ("ridge_b", "1"): 3}
    for (name, version), seed in layout.items():
        folder = models / name / version
        folder.mkdir(parents=True)
        joblib.dump(fit_ridge(seed), folder / "model.pkl")
    seed_dir = root / "seed-model"
    seed_dir.mkdir()
    joblib.dump(fit_ridge(0), seed_dir / "sklearn_mnist_model.pkl")
    return root


class Server:
    """One `python -m modelport.scoring` process tree."""

    def __init__(
        self,
        root: Path,
        script: str,
        *args: str,
        env: dict[str, str] | None = None,
        model_dir: Path | None = None,
        workers: int = 1,
    ) -> None:
        self.root = root
        port_file = root / f".port-{Path(script).name}-{os.getpid()}-{time.monotonic_ns()}"
        cmd = [
            sys.executable,
            "-m",
            "modelport.scoring",
            "--entry-script",
            script,
            "--app-root",
            str(root),
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--workers",
            str(workers),
            *args,
        ]
        if model_dir is not None:
            cmd += ["--model-dir", str(model_dir)]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_"))}
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            cmd, cwd=root, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.port = self._wait_port(port_file)
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)
        self.wait_ready()

    def _wait_port(self, port_file: Path, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port_file.exists():
                return int(port_file.read_text())
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.communicate()[1].decode()[-2000:]}")
            time.sleep(0.02)
        raise TimeoutError("no port file")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as probe:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited: {self.proc.communicate()[1].decode()[-3000:]}"
                    )
                try:
                    if probe.get(f"{self.url}/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise TimeoutError("server never became ready")

    def stop(self) -> int:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
        return self.proc.returncode


@pytest.fixture(scope="session")
def server_factory(app_root: Path) -> Iterator:
    started: dict[tuple, Server] = {}

    def get(
        script: str,
        *args: str,
        env: dict[str, str] | None = None,
        model_dir: Path | None = None,
        workers: int = 1,
        fresh: bool = False,
    ) -> Server:
        key = (script, args, tuple(sorted((env or {}).items())), model_dir, workers)
        if fresh or key not in started:
            server = Server(app_root, script, *args, env=env, model_dir=model_dir, workers=workers)
            if fresh:
                return server
            started[key] = server
        return started[key]

    yield get
    for server in started.values():
        server.stop()


def start_failing(root: Path, script: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run a server that must refuse to start; returns the finished process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "modelport.scoring",
            "--entry-script",
            script,
            "--app-root",
            str(root),
            "--port",
            "0",
            "--workers",
            "2",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        timeout=timeout,
    )
