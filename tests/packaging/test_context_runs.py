"""The saved build context really serves, proven without Docker.

A few lines of Python play Docker's part: the context's COPY instructions fill a fake image root,
its RUN lines install into a uv virtualenv (pip swapped for uv, same arguments), and its CMD runs
with its ENV and WORKDIR, the image's paths mapped into the fake root. The seed request must
then get the predictions the model gives in-process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from modelport.core import InferenceConfig, Model, Workspace
from modelport.environments._process import find_uv
from tests.packaging.conftest import SEED_REQUEST


@dataclass
class Image:
    """What a Dockerfile leaves behind, with absolute image paths under `root`."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    cmd: list[str] = field(default_factory=list)
    runs: list[list[str]] = field(default_factory=list)

    def path(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")

    def map(self, value: str) -> str:
        """An image path as it is under the fake root; anything else unchanged."""
        return str(self.path(value)) if value.startswith(("/var/", "/opt/")) else value


def play(context: Path, root: Path) -> Image:
    """Apply the context's Dockerfile (COPY, ENV, WORKDIR, RUN, CMD) to a folder."""
    image = Image(root)
    text = (context / "Dockerfile").read_text().replace("\\\n", " ")  # continued lines
    for line in text.splitlines():
        instruction, _, rest = line.partition(" ")
        if instruction == "COPY":
            source, dest = shlex.split(rest)
            target = image.path(dest)
            if (context / source).is_dir():
                shutil.copytree(context / source, target, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(context / source, target)
        elif instruction == "ENV":
            for assignment in shlex.split(rest):
                name, _, value = assignment.partition("=")
                image.env[name] = value
        elif instruction == "WORKDIR":
            image.workdir = rest
        elif instruction == "RUN":
            image.runs.append(shlex.split(rest))
        elif instruction == "CMD":
            image.cmd = json.loads(rest)
    return image


@contextlib.contextmanager
def serving(image: Image, python: Path, tmp_path: Path) -> Iterator[str]:
    port_file = tmp_path / "port"
    cmd = [str(python) if a == "python" else image.map(a) for a in image.cmd]
    cmd += ["--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file), "--workers", "1"]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update({k: image.map(v) for k, v in image.env.items()})
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        cmd, cwd=image.path(image.workdir), env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield _wait_ready(proc, port_file, tmp_path / "server.log")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(proc: subprocess.Popen[bytes], port_file: Path, log: Path) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        if port_file.is_file() and port_file.read_text().strip():
            url = f"http://127.0.0.1:{port_file.read_text().strip()}"
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/readyz", timeout=2) as response,
            ):
                if response.status == 200:
                    return url
        time.sleep(0.05)
    raise AssertionError(f"the server did not become ready:\n{log.read_text()}")


@pytest.mark.slow
def test_the_saved_context_serves_the_seed_request(
    pws: Workspace,
    seed_model: Model,
    seed_config: InferenceConfig,
    model_file: Path,
    tmp_path: Path,
) -> None:
    import joblib
    import numpy as np

    package = Model.package(pws, [seed_model], seed_config, generate_dockerfile=True)
    context = Path(package.save(tmp_path / "imagefiles"))
    image = play(context, tmp_path / "root")

    uv = find_uv()
    assert uv is not None
    uv_env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    uv_env["UV_PYTHON_DOWNLOADS"] = "never"
    venv = tmp_path / "venv"
    subprocess.run(
        [uv, "venv", "--python", sys.executable, venv], env=uv_env, check=True, capture_output=True
    )
    environment, runtime = image.runs  # third-party packages, then modelport --no-deps
    assert environment[:5] == ["python3", "-m", "venv", "/opt/venv", "&&"]
    pip = ["/opt/venv/bin/python", "-m", "pip", "install"]
    assert environment[5:9] == pip and runtime[:5] == [*pip, "--no-deps"]
    started = time.monotonic()
    for install in (environment[5:], runtime):
        subprocess.run(
            [uv, "pip", "install", "--python", venv / "bin" / "python"]
            + [image.map(arg) for arg in install[4:]],
            env=uv_env,
            check=True,
            capture_output=True,
        )
    print(f"image dependencies installed with uv in {time.monotonic() - started:.1f}s")
    site = next((venv / "lib").glob("python3.*/site-packages"))
    assert (site / "modelport" / "scoring" / "__main__.py").is_file()  # from the wheel

    expected = joblib.load(model_file).predict(np.array(SEED_REQUEST["data"])).tolist()
    with serving(image, venv / "bin" / "python", tmp_path) as url:
        request = urllib.request.Request(
            f"{url}/score",
            data=json.dumps(SEED_REQUEST).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            assert json.loads(response.read()) == pytest.approx(expected)
