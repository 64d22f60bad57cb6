"""`modelport model package` as a user types it (real subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelport.core import Workspace
from tests.conftest import run_cli
from tests.packaging.conftest import SEED_SCRIPT, environment_lines


@pytest.fixture
def project(tmp_path: Path, model_file: Path) -> Path:
    """A folder with a workspace, the seed model, score.py, an env file and inferenceconfig.json."""
    assert run_cli("workspace", "create", cwd=tmp_path).returncode == 0
    registered = run_cli(
        "model", "register", "-n", "sklearn_regression_model", "-p", str(model_file), cwd=tmp_path
    )
    assert registered.returncode == 0, registered.stderr
    (tmp_path / "score.py").write_text(SEED_SCRIPT.read_text())
    (tmp_path / "myenv.yml").write_text(
        "name: myenv\ndependencies:\n  - python=3.11\n  - pip:\n"
        "    - scikit-learn\n    - inference-schema[numpy-support]\n"
    )
    (tmp_path / "steps.dockerfile").write_text("RUN echo extra step\n")
    (tmp_path / "inferenceconfig.json").write_text(
        json.dumps(
            {
                "entryScript": "score.py",
                "condaFile": "myenv.yml",
                "extraDockerfileSteps": "steps.dockerfile",
                "baseImage": "python:3.11-bookworm",
            }
        )
    )
    return tmp_path


def _package(project: Path, *extra: str, output_dir: str = "out") -> Any:
    """`modelport model package` for the seed model and project's inferenceconfig.json."""
    return run_cli(
        "model",
        "package",
        "-m",
        "sklearn_regression_model:1",
        "--ic",
        "inferenceconfig.json",
        "--output-dir",
        output_dir,
        *extra,
        cwd=project,
    )


def test_model_package_writes_the_build_context(project: Path) -> None:
    result = _package(project, "--image-name", "myimage", output_dir="imagefiles")
    assert result.returncode == 0, result.stderr
    context = project / "imagefiles"
    assert f"build context saved to {context}" in result.stdout
    assert "docker build --tag myimage:" in result.stdout
    assert "docker run -p 6789:5001 myimage:" in result.stdout
    dockerfile = (context / "Dockerfile").read_text().splitlines()
    assert "FROM python:3.11-bookworm" in dockerfile
    assert "RUN echo extra step" in dockerfile
    assert (context / "app" / "score.py").is_file()
    assert environment_lines(context) == ["scikit-learn", "inference-schema[numpy-support]"]


def test_model_package_json_output(project: Path) -> None:
    result = _package(project, "--image-label", "v2", "-o", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["state"] == "Succeeded"
    assert data["image_name"] == "package" and data["image_label"] == "v2"
    assert data["saved_to"] == str(project / "out")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "nope:1", "--ic", "inferenceconfig.json"], "Model 'nope'"),
        (["-m", "sklearn_regression_model:1", "--ic", "missing.json"], "does not exist"),
        (["-m", "sklearn_regression_model:1"], "Model.package needs an inference_config"),
    ],
)
def test_mistakes_are_one_line_errors_and_write_nothing(
    project: Path, args: list[str], message: str
) -> None:
    result = run_cli("model", "package", *args, "--output-dir", "out", cwd=project)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "out").exists()
    assert _packages(project) == []


def test_a_missing_entry_script_in_the_config_is_named(project: Path) -> None:
    (project / "score.py").unlink()
    result = _package(project)
    assert result.returncode == 2
    assert "Entry script" in result.stderr and "score.py does not exist" in result.stderr
    assert not (project / "out").exists()


def test_an_output_dir_that_is_not_empty_is_refused_before_packaging(project: Path) -> None:
    (project / "out").mkdir()
    (project / "out" / "keep.txt").write_text("mine")
    result = _package(project)
    assert result.returncode == 2
    assert "is not empty" in result.stderr
    assert [p.name for p in (project / "out").iterdir()] == ["keep.txt"]
    assert _packages(project) == []


def _packages(project: Path) -> list[dict[str, object]]:
    ws = Workspace.get(project / ".modelport")
    try:
        return ws.store.list_documents("package")
    finally:
        ws.close()
