"""Old v1 environments deploy and score, with modelport-runtime from the running installation.

Real builds with uv (third-party packages from PyPI or uv's cache; modelport never from an
index). Each test is one or two real environment builds, so there are few of them:

- an installed modelport wheel (not this checkout) in a fresh venv deploys, through the CLI, a
  v1 conda file pinned to old releases (python=3.6.2, scikit-learn=0.22.1 which has no wheel
  for this Python, numpy 1.23.5 with a conda build string, pandas 1.5.*): refused by default
  naming the switch, then served with `--resolve-nearest`;
- the newest releases deploy and score from this checkout;
- onnxruntime 1.15.1 (built against NumPy 1.x) with a bare numpy: resolved as of the pin's
  date it serves; resolved to today's NumPy 2 the deploy fails with the import error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.core import Environment, InferenceConfig, Model, Workspace
from modelport.core.webservice import LocalWebservice, Webservice
from modelport.environments import CondaDependencies
from modelport.environments.build import find_uv
from modelport.errors import DeploymentError
from modelport.packaging.wheel import modelport_wheel

pytestmark = pytest.mark.slow

OLD_ENV = """\
name: project_environment
channels:
  - conda-forge
dependencies:
  - python=3.6.2
  - scikit-learn=0.22.1
  - numpy=1.23.5=py311h7d28db0_0
  - pandas=1.5.*
  - pip:
    - azureml-defaults>=1.0.45
    - inference-schema[numpy-support]
"""

# A v1 entry script, as written for Azure: azureml imports, Model.get_model_path, init/run.
SCORE = """\
import importlib.metadata
import json
import re

import numpy as np
import pandas as pd
import sklearn
from azureml.core.model import Model
from sklearn.linear_model import LinearRegression


def init():
    global model
    with open(Model.get_model_path("coef")) as f:
        data = json.load(f)
    model = LinearRegression().fit(np.array(data["x"]), np.array(data["y"]))


def _needs(dist, name):
    return any(
        re.split(r"[ ;<>=!~\\[(]", r, maxsplit=1)[0].lower() == name
        for r in dist.requires or []
        if "extra ==" not in r
    )


def run(raw_data):
    rows = pd.DataFrame(json.loads(raw_data)["data"])
    installed = list(importlib.metadata.distributions())
    dists = {d.metadata["Name"].lower() for d in installed}
    return {
        "click_for": sorted(d.metadata["Name"].lower() for d in installed if _needs(d, "click")),
        "prediction": [round(v, 6) for v in model.predict(rows.to_numpy()).tolist()],
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "sklearn": sklearn.__version__,
        "modelport": sorted(d for d in dists if d.startswith("modelport")),
        # (psutil is not host-side: the router, which runs in a version's image, needs it)
        "host_side": sorted(d for d in dists if d in ("sqlalchemy", "rich", "httpx")),
    }
"""
COEF = {"x": [[0.0], [1.0], [2.0], [3.0]], "y": [1.0, 3.0, 5.0, 7.0]}  # y = 2x + 1
REQUEST = json.dumps({"data": [[4.0], [10.0]]})


def _uv_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV" and not k.startswith("MODELPORT_")
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def _score(url: str, body: str = REQUEST) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _app(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "score.py").write_text(SCORE)
    (app / "myenv.yml").write_text(OLD_ENV)
    (app / "coef.json").write_text(json.dumps(COEF))
    (app / "inferenceconfig.json").write_text(
        json.dumps({"entryScript": "score.py", "condaFile": "myenv.yml"})
    )
    return app


@pytest.fixture
def own_dir() -> Iterator[Path]:
    """A folder of this test's own: pytest sessions of other users of this machine prune
    older basetemp folders, which a test this long may still be using."""
    folder = Path(tempfile.mkdtemp(prefix="modelport-old-env-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def installed_modelport(own_dir: Path) -> Path:
    """A fresh venv with modelport installed from its full wheel: no checkout behind it."""
    uv = find_uv()
    assert uv is not None, "uv is a dependency of modelport"
    wheel = modelport_wheel(own_dir / "wheels", lambda _: None, full=True)
    venv = own_dir / "venv"
    subprocess.run(
        [uv, "venv", "--python", sys.executable, venv],
        env=_uv_env(),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [uv, "pip", "install", "--python", venv / "bin" / "python", wheel],
        env=_uv_env(),
        check=True,
        capture_output=True,
    )
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import modelport; print(modelport.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "site-packages" in where and str(Path(__file__).parents[2]) not in where
    return venv


def test_an_installed_wheel_deploys_an_old_v1_environment_with_resolve_nearest(
    installed_modelport: Path, own_dir: Path
) -> None:
    app = _app(own_dir)
    ws = own_dir / "ws"

    def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [installed_modelport / "bin" / "modelport", *args],
            cwd=app,
            env=_uv_env(),
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert not check or done.returncode == 0, done.stdout + done.stderr
        return done

    cli("workspace", "create", "-w", str(ws))
    cli("model", "register", "-w", str(ws), "-n", "coef", "-p", "coef.json")
    deploy = ("model", "deploy", "-w", str(ws), "-n", "old-env", "-m", "coef:1")
    deploy += ("--ic", "inferenceconfig.json")

    strict = cli(*deploy, check=False)
    assert strict.returncode == 1
    # every pin that cannot be had here, in one line: the interpreter and the package
    assert (
        "python=3.6.2 cannot be used: modelport's scoring server needs Python 3.11+"
        in strict.stderr
    )
    assert (
        "'scikit-learn==0.22.1' (from conda: scikit-learn=0.22.1) has no release" in strict.stderr
    )
    assert "--resolve-nearest" in strict.stderr and "Traceback" not in strict.stderr

    try:
        done = cli(*deploy, "--resolve-nearest", "--overwrite", "-o", "json")
        uri = json.loads(done.stdout)["scoring_uri"]
        answer = _score(uri)
        logs = cli("service", "logs", "-w", str(ws), "old-env", "-n", "100000").stdout
    finally:
        cli("service", "delete", "-w", str(ws), "old-env", check=False)
    assert answer["prediction"] == [9.0, 21.0]
    assert answer["numpy"] == "1.23.5" and str(answer["pandas"]).startswith("1.5.")
    assert answer["sklearn"] == "1.1.3"  # the first scikit-learn with wheels for Python 3.11
    assert answer["modelport"] == ["modelport-runtime"]
    assert answer["host_side"] == []
    assert answer["click_for"] == ["uvicorn"]  # not modelport's: uvicorn requires click
    # what changed, the cut-off used, and where modelport came from: in the service's logs
    assert (
        "resolve_nearest: scikit-learn==0.22.1 -> scikit-learn==1.1.3 (conda: scikit-learn=0.22.1)"
        in logs
    )
    assert "resolve_nearest: python=3.6.2 -> python=3.11." in logs
    assert "resolution cut-off: 2023-02-18 (the newest pin, pandas==1.5.3, was released" in logs
    assert "modelport-runtime==0.1.0 (from file://" in logs


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    return _app(tmp_path)


def _deploy(ws: Workspace, app: Path, name: str, env: Environment) -> LocalWebservice:
    model = Model.register(ws, app / "coef.json", "coef")
    config = InferenceConfig(entry_script=str(app / "score.py"), environment=env)
    service = Model.deploy(ws, name, [model], config, LocalWebservice.deploy_configuration())
    service.wait_for_deployment(show_output=False)
    return service  # type: ignore[return-value]


def test_the_newest_releases_deploy_with_the_slim_runtime(
    service_ws: Workspace, app_dir: Path
) -> None:
    env = Environment("newest")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["azureml-defaults", "numpy", "pandas", "scikit-learn", "inference-schema"]
    )
    service = _deploy(service_ws, app_dir, "newest", env)
    answer = _score(service.scoring_uri)
    assert answer["prediction"] == [9.0, 21.0]
    assert (
        int(str(answer["numpy"]).split(".")[0]) >= 2
        and int(str(answer["pandas"]).split(".")[0]) >= 2
    )
    assert answer["modelport"] == ["modelport-runtime"] and answer["host_side"] == []
    assert answer["click_for"] == ["uvicorn"]
    assert "resolution cut-off: none (no exact pins): current releases" in service.get_logs()


ONNX_SCORE = """\
def init():
    import onnxruntime  # built against NumPy 1.x

    global version
    version = onnxruntime.__version__


def run(raw_data):
    import numpy

    return {"onnxruntime": version, "numpy": numpy.__version__}
"""


def test_old_native_pins_resolve_as_of_their_date_and_an_abi_crash_fails_the_deploy(
    service_ws: Workspace, app_dir: Path
) -> None:
    (app_dir / "score.py").write_text(ONNX_SCORE)
    env = Environment("onnx-old")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["onnxruntime==1.15.1", "numpy"]
    )
    service = _deploy(service_ws, app_dir, "onnx-dated", env)
    answer = _score(service.scoring_uri, "{}")
    assert answer["onnxruntime"] == "1.15.1" and str(answer["numpy"]).startswith("1.")
    assert "resolution cut-off: 2023-07-1" in service.get_logs()

    env.python.exclude_newer = None  # opt out: today's numpy 2 under a NumPy 1.x binary
    with pytest.raises(DeploymentError) as caught:
        _deploy(service_ws, app_dir, "onnx-today", env)
    assert "a native dependency cannot be imported" in str(caught.value)
    assert "compiled using NumPy 1.x cannot be run in" in str(caught.value)
    assert Webservice(service_ws, "onnx-today").state == "Failed"
