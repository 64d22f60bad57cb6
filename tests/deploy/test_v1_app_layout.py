"""v1's app layout: the source directory sits under its own name in the app root.

A v1 scoring script finds its files three ways: relative to the working directory (the app
root: `open("src/extra.json")`), relative to `__file__`, and through `AML_APP_ROOT` /
`AZUREML_SOURCE_DIRECTORY`. Each must work on a local service and in a packaged build context
(run here exactly as its Dockerfile lays it out), with `Model.get_model_path` and
`AZUREML_MODEL_DIR` pointing at the same model.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import pytest

from modelport.core import Model, Workspace
from modelport.core.model import InferenceConfig
from modelport.core.webservice import LocalWebservice
from modelport.environments import Environment
from modelport.errors import InvalidArgument
from tests.packaging.conftest import dockerfile_env
from tests.scoring.conftest import Server

# A v1 entry script as published notebooks write it (only `azureml` imports, resolved by the
# service); it reports what it found so the test can compare.
V1_SCRIPT = """
import json
import os

import joblib
from azureml.core.model import Model

from helpers.scale import FACTOR  # a helper module beside the script


def init():
    global found, model
    with open("src/extra.json") as f:  # relative to the working directory (the app root)
        by_cwd = json.load(f)["value"]
    here = os.path.dirname(os.path.realpath(__file__))
    with open(os.path.join(here, "extra.json")) as f:  # relative to the script
        by_file = json.load(f)["value"]
    root = os.environ["AML_APP_ROOT"]
    source = os.environ["AZUREML_SOURCE_DIRECTORY"]
    with open(os.path.join(root, source, "data", "nested.txt")) as f:
        by_root = f.read().strip()
    path = Model.get_model_path("sklearn_regression")
    model = joblib.load(path)
    found = {
        "by_cwd": by_cwd,
        "by_file": by_file,
        "by_root": by_root,
        "factor": FACTOR,
        "cwd_is_root": os.path.realpath(os.getcwd()) == os.path.realpath(root),
        "entry": os.environ["AZUREML_ENTRY_SCRIPT"],
        "source": source,
        "script": os.path.relpath(os.path.realpath(__file__), os.path.realpath(root)),
        "model_path": os.path.relpath(os.path.realpath(path), os.path.realpath(root)),
        "model_dir": os.path.relpath(
            os.path.realpath(os.environ["AZUREML_MODEL_DIR"]), os.path.realpath(root)
        ),
    }


def run(raw_data):
    data = json.loads(raw_data)["data"]
    return {**found, "prediction": [FACTOR * p for p in model.predict(data).tolist()]}
"""

EXPECTED = {
    "by_cwd": "cwd",
    "by_file": "cwd",
    "by_root": "nested",
    "factor": 2,
    "cwd_is_root": True,
    "entry": "src/score.py",
    "source": "src",
    "script": "src/score.py",
    "model_path": "azureml-models/sklearn_regression/1/sklearn_regression_model.pkl",
    "model_dir": "azureml-models/sklearn_regression/1",
}
REQUEST = json.dumps({"data": [[1.0] * 10]})


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A v1 project folder `src/` holding the script, a helper package and data files."""
    src = tmp_path / "project" / "src"
    (src / "helpers").mkdir(parents=True)
    (src / "data").mkdir()
    (src / "score.py").write_text(V1_SCRIPT)
    (src / "helpers" / "__init__.py").write_text("")
    (src / "helpers" / "scale.py").write_text("FACTOR = 2\n")
    (src / "extra.json").write_text(json.dumps({"value": "cwd"}))
    (src / "data" / "nested.txt").write_text("nested\n")
    return src


@pytest.fixture
def ridge(service_ws: Workspace, model_file: Path) -> Model:
    return Model.register(service_ws, model_file, "sklearn_regression")


def _expected_prediction(model_file: Path) -> list[float]:
    import joblib

    return [2 * p for p in joblib.load(model_file).predict([[1.0] * 10]).tolist()]


def test_a_local_service_lays_the_source_directory_out_under_its_own_name(
    service_ws: Workspace, ridge: Model, source: Path, model_file: Path
) -> None:
    config = InferenceConfig(
        entry_script="score.py", source_directory=str(source), environment=Environment.current()
    )
    service = Model.deploy(
        service_ws, "layout", [ridge], config, LocalWebservice.deploy_configuration(workers=1)
    )
    service.wait_for_deployment(show_output=True)
    assert service.state == "Healthy", service.get_logs()
    answer = service.run(REQUEST)
    assert {k: answer[k] for k in EXPECTED} == EXPECTED
    assert answer["prediction"] == pytest.approx(_expected_prediction(model_file))


def test_a_relative_source_directory_keeps_its_folder_name(
    service_ws: Workspace,
    ridge: Model,
    source: Path,
    model_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`source_directory="./src"` (a notebook's usual spelling) lands as `src/` too."""
    monkeypatch.chdir(source.parent)
    config = InferenceConfig(
        entry_script="./score.py", source_directory="./src", environment=Environment.current()
    )
    service = Model.deploy(
        service_ws, "relative", [ridge], config, LocalWebservice.deploy_configuration(workers=1)
    )
    service.wait_for_deployment()
    assert service.run(REQUEST)["by_cwd"] == "cwd"


def test_a_package_context_has_the_same_layout_and_serves_as_its_dockerfile_says(
    service_ws: Workspace, ridge: Model, source: Path, model_file: Path, tmp_path: Path
) -> None:
    config = InferenceConfig(
        entry_script="score.py", source_directory=str(source), environment=Environment.current()
    )
    package = Model.package(service_ws, [ridge], config, generate_dockerfile=True)
    package.wait_for_creation()
    context = package.context_path
    assert (context / "app" / "src" / "score.py").is_file()
    assert (context / "app" / "src" / "helpers" / "scale.py").is_file()
    dockerfile = (context / "Dockerfile").read_text()
    env = dockerfile_env(dockerfile)
    copies = re.findall(r"^COPY (\S+) (\S+)$", dockerfile, re.MULTILINE)
    assert ("app/", "/var/azureml-app/") in copies
    assert ("azureml-models/", "/var/azureml-app/azureml-models/") in copies
    assert env["AZUREML_ENTRY_SCRIPT"] == "src/score.py"
    assert env["AZUREML_SOURCE_DIRECTORY"] == "src"

    # Build the image's app root as the Dockerfile's COPY lines do, with /var/azureml-app
    # moved to a temporary folder, and start the server with the Dockerfile's environment.
    root = tmp_path / "var-azureml-app"
    shutil.copytree(context / "app", root)
    shutil.copytree(context / "azureml-models", root / "azureml-models")
    image_root = env["AML_APP_ROOT"]
    moved = {k: v.replace(image_root, str(root)) for k, v in env.items()}
    server = Server(root, moved["AZUREML_ENTRY_SCRIPT"], env=moved)
    try:
        response = server.client.post("/score", content=REQUEST)
        assert response.status_code == 200, response.text
        answer = response.json()
    finally:
        server.stop()
    assert {k: answer[k] for k in EXPECTED} == EXPECTED
    assert answer["prediction"] == pytest.approx(_expected_prediction(model_file))


def test_a_lone_entry_script_still_sits_at_the_app_root(
    service_ws: Workspace, ridge: Model, tmp_path: Path
) -> None:
    script = tmp_path / "lone.py"
    script.write_text(
        "import os\n"
        "def init():\n    pass\n"
        "def run(raw):\n"
        "    return {'entry': os.environ['AZUREML_ENTRY_SCRIPT'],\n"
        "            'source': os.environ.get('AZUREML_SOURCE_DIRECTORY'),\n"
        "            'listing': sorted(os.listdir('.'))}\n"
    )
    config = InferenceConfig(entry_script=str(script), environment=Environment.current())
    service = Model.deploy(
        service_ws, "lone", [ridge], config, LocalWebservice.deploy_configuration(workers=1)
    )
    service.wait_for_deployment()
    answer = service.run("{}")
    assert answer["entry"].endswith("lone.py") and answer["source"] is None
    assert answer["listing"] == ["azureml-models", "lone.py"]
    assert httpx.get(service.scoring_uri.rsplit("/", 1)[0] + "/").status_code == 200


@pytest.mark.parametrize("name", ["azureml-models", "data-collection"])
def test_a_source_directory_named_like_an_app_root_folder_is_refused(
    service_ws: Workspace, ridge: Model, tmp_path: Path, name: str
) -> None:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "score.py").write_text("def init(): pass\ndef run(d): return d\n")
    config = InferenceConfig("score.py", source_directory=str(folder))
    with pytest.raises(InvalidArgument, match="used by the app root itself"):
        Model.package(service_ws, [ridge], config, generate_dockerfile=True)


def test_a_workspace_inside_the_source_directory_is_not_copied_into_the_app(
    tmp_path: Path, model_file: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "score.py").write_text("def init():\n    pass\ndef run(raw):\n    return raw\n")
    ws = Workspace.create(project / "mlws")
    try:
        model = Model.register(ws, model_file, "sklearn_regression")
        config = InferenceConfig(
            "score.py", source_directory=str(project), environment=Environment.current()
        )
        service = Model.deploy(
            ws, "inside", [model], config, LocalWebservice.deploy_configuration(workers=1)
        )
        service.wait_for_deployment()
        app = service.folder / "rev-1" / "app"
        assert sorted(p.name for p in (app / "project").iterdir()) == ["score.py"]
        service.delete()
    finally:
        for leftover in LocalWebservice.list(ws, all=True):
            leftover.delete()
        ws.close()
