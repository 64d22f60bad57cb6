"""`Model.package(...)` as v1 notebooks call it: contexts, no-code models, errors."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from modelport.core import Environment, InferenceConfig, Model, Workspace
from modelport.errors import InvalidArgument, NotFound
from modelport.packaging import DockerUnavailable, ModelPackage, PackageNotFound
from tests.packaging.conftest import SEED_SCRIPT, dockerfile_env, environment_lines


def test_the_seed_package_saves_a_complete_build_context(
    pws: Workspace,
    seed_model: Model,
    seed_config: InferenceConfig,
    model_file: Path,
    tmp_path: Path,
) -> None:
    import sklearn

    package = Model.package(pws, [seed_model], seed_config, generate_dockerfile=True)
    package.wait_for_creation(show_output=False)
    assert package.state == "Succeeded" and package.error is None
    saved = Path(package.save(tmp_path / "imagefiles"))

    assert sorted(p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file()) == [
        "Dockerfile",
        "app/score.py",
        "azureml-models/sklearn_regression_model/1/sklearn_regression_model.pkl",
        "requirements.in",
        "requirements.txt",
        "wheels/modelport_runtime-0.1.0-py3-none-any.whl",
    ]
    assert (saved / "app" / "score.py").read_bytes() == SEED_SCRIPT.read_bytes()
    model_copy = saved / "azureml-models/sklearn_regression_model/1/sklearn_regression_model.pkl"
    assert model_copy.read_bytes() == model_file.read_bytes()
    assert model_copy.stat().st_nlink == 1  # a real copy: build contexts can't follow links

    wheel_file = saved / "wheels" / "modelport_runtime-0.1.0-py3-none-any.whl"
    assert environment_lines(saved, wheel_file) == [
        f"scikit-learn=={sklearn.__version__}",
        "joblib",
        "inference-schema[numpy-support]",
    ]  # azureml-defaults is replaced by modelport's compatibility layer

    dockerfile = (saved / "Dockerfile").read_text()
    for line in (
        "FROM python:3.11-slim",
        "COPY wheels/modelport_runtime-0.1.0-py3-none-any.whl /opt/modelport/modelport_runtime-0.1.0-py3-none-any.whl",
        "COPY azureml-models/ /var/azureml-app/azureml-models/",
        "COPY app/ /var/azureml-app/",
        'ENV AML_APP_ROOT="/var/azureml-app" \\',
        '    AZUREML_ENTRY_SCRIPT="score.py" \\',
        '    AZUREML_MODEL_DIR="/var/azureml-app/azureml-models/sklearn_regression_model/1"',
        "EXPOSE 5001",
        'CMD ["python", "-m", "modelport.scoring", "--host", "0.0.0.0", "--port", "5001"]',
    ):
        assert line in dockerfile.splitlines(), line

    with zipfile.ZipFile(saved / "wheels" / "modelport_runtime-0.1.0-py3-none-any.whl") as wheel:
        names = wheel.namelist()
    assert "modelport/scoring/__main__.py" in names
    assert "modelport/runtimes/sklearn_score.py" in names
    assert not any(n.startswith("modelport/registry/") for n in names)  # the slim runtime

    registry = package.get_container_registry()
    assert (registry.address, registry.username, registry.password) == (None, None, None)
    assert package.location == str(package.context_path)
    assert "build context ready" in package.get_logs()


def test_a_package_is_found_again_by_id(
    pws: Workspace, seed_model: Model, seed_config: InferenceConfig
) -> None:
    package = Model.package(
        pws, ["sklearn_regression_model:1"], seed_config, True, "seed-image", "v1"
    )
    again = ModelPackage(pws, package.id)
    assert (again.state, again.models, again.image_name, again.image_label) == (
        "Succeeded",
        ["sklearn_regression_model:1"],
        "seed-image",
        "v1",
    )
    again.delete()
    assert not package.folder.exists()
    with pytest.raises(PackageNotFound):
        ModelPackage(pws, package.id)


def test_wheel_is_built_once_per_source_state(
    pws: Workspace, seed_model: Model, seed_config: InferenceConfig
) -> None:
    first = Model.package(pws, [seed_model], seed_config, generate_dockerfile=True)
    second = Model.package(pws, [seed_model], seed_config, generate_dockerfile=True)
    assert "modelport wheel: built" in first.get_logs()
    assert "modelport wheel: reusing" in second.get_logs()
    assert len(list((pws.path / "cache" / "wheels").glob("*/modelport*.whl"))) == 1


def test_source_directory_base_image_variables_and_extra_steps(
    pws: Workspace, seed_model: Model, seed_env: Environment, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    (source / "helpers" / "__pycache__").mkdir(parents=True)
    (source / "helpers" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (source / "helpers" / "util.py").write_text("FACTOR = 2\n")
    (source / "score.py").write_text(SEED_SCRIPT.read_text())
    steps = tmp_path / "steps.dockerfile"
    steps.write_text("RUN apt-get update && apt-get install -y libgomp1\n")
    seed_env.docker.base_image = "python:3.12-slim"
    seed_env.environment_variables = {"GREETING": "hello world"}
    config = InferenceConfig(
        entry_script="score.py",
        source_directory=str(source),
        environment=seed_env,
        extra_docker_file_steps=str(steps),
    )
    package = Model.package(pws, [seed_model], config, generate_dockerfile=True)
    package.wait_for_creation()
    app = package.context_path / "app"
    assert sorted(p.relative_to(app).as_posix() for p in app.rglob("*")) == [
        "src",
        "src/helpers",
        "src/helpers/util.py",
        "src/score.py",
    ]
    text = (package.context_path / "Dockerfile").read_text()
    dockerfile = text.splitlines()
    env = dockerfile_env(text)
    assert (env["AZUREML_ENTRY_SCRIPT"], env["AZUREML_SOURCE_DIRECTORY"]) == ("src/score.py", "src")
    assert dockerfile[3] == "FROM python:3.12-slim"
    assert "RUN apt-get update && apt-get install -y libgomp1" in dockerfile
    assert 'ENV GREETING="hello world" \\' in dockerfile  # the first of the settings


def test_a_workspace_inside_the_source_directory_is_not_packaged(
    tmp_path: Path, model_file: Path, seed_env: Environment
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "score.py").write_text(SEED_SCRIPT.read_text())
    ws = Workspace.create(project / "mlws")
    try:
        model = Model.register(ws, model_file, "sklearn_regression_model")
        config = InferenceConfig("score.py", source_directory=str(project), environment=seed_env)
        package = Model.package(ws, [model], config, generate_dockerfile=True)
        app = package.context_path / "app"
        assert sorted(p.relative_to(app).as_posix() for p in app.rglob("*")) == [
            "project",
            "project/score.py",
        ]
    finally:
        ws.close()


def test_a_no_code_model_packages_with_its_runtime(pws: Workspace, model_file: Path) -> None:
    import sklearn

    model = Model.register(
        pws,
        model_file,
        "nocode",
        model_framework=Model.Framework.SCIKITLEARN,
        model_framework_version=sklearn.__version__,
    )
    package = Model.package(pws, [model], generate_dockerfile=True)
    package.wait_for_creation()
    context = package.context_path
    assert (context / "app" / "sklearn_score.py").is_file()
    assert '    AZUREML_ENTRY_SCRIPT="sklearn_score.py" \\' in (context / "Dockerfile").read_text()
    assert environment_lines(context) == [f"scikit-learn=={sklearn.__version__}", "joblib"]
    assert "reuses an interpreter as it is" in package.get_logs()


def test_a_configured_registry_names_the_image(
    pws: Workspace,
    seed_model: Model,
    seed_config: InferenceConfig,
    monkeypatch: pytest.MonkeyPatch,
    no_docker_engine: None,
) -> None:
    monkeypatch.setenv("MODELPORT_CONTAINER_REGISTRY", "registry.example.com:5000")
    monkeypatch.setenv("MODELPORT_CONTAINER_REGISTRY_USERNAME", "robot")
    monkeypatch.setenv("MODELPORT_CONTAINER_REGISTRY_PASSWORD", "s3cret")
    package = Model.package(pws, [seed_model], seed_config, image_name="team/seed", image_label="7")
    registry = package.get_container_registry()
    assert (registry.address, registry.username, registry.password) == (
        "registry.example.com:5000",
        "robot",
        "s3cret",
    )
    assert "s3cret" not in repr(registry)
    assert package.location == "registry.example.com:5000/team/seed:7"
    monkeypatch.delenv("MODELPORT_CONTAINER_REGISTRY_PASSWORD")
    assert "s3cret" not in str(pws.store.get_document("package", package.id))


# -- no Docker engine ------------------------------------------------------------------------


def test_an_image_package_without_a_docker_engine_fails_with_one_clear_line(
    pws: Workspace, seed_model: Model, seed_config: InferenceConfig, no_docker_engine: None
) -> None:
    package = Model.package(pws, [seed_model], seed_config)
    assert package.state == "Failed"
    assert not package.context_path.exists()  # nothing built half-way
    for attempt in (package, ModelPackage(pws, package.id)):
        with pytest.raises(DockerUnavailable) as caught:
            attempt.wait_for_creation(show_output=True)
        message = str(caught.value)
        assert "\n" not in message
        assert "No container engine (Docker or Podman) is available" in message
        assert "no-engine.sock does not exist" in message
        assert "generate_dockerfile=True" in message
        assert "Install Docker" in message
    with pytest.raises(DockerUnavailable, match="generate_dockerfile=True"):
        package.pull()
    assert "package failed: No container engine" in package.get_logs()


def test_without_the_docker_client_the_error_says_how_to_install_it(
    pws: Workspace,
    seed_model: Model,
    seed_config: InferenceConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "docker", None)  # import docker -> ImportError
    package = Model.package(pws, [seed_model], seed_config)
    with pytest.raises(
        DockerUnavailable, match=r"pip install 'modelport\[container\]'|'docker' package"
    ):
        package.wait_for_creation()


def test_a_dockerfile_package_cannot_be_pulled_and_an_image_cannot_be_saved(
    pws: Workspace,
    seed_model: Model,
    seed_config: InferenceConfig,
    tmp_path: Path,
    no_docker_engine: None,
) -> None:
    context = Model.package(pws, [seed_model], seed_config, generate_dockerfile=True)
    with pytest.raises(InvalidArgument, match="no image to pull"):
        context.pull()
    image = Model.package(pws, [seed_model], seed_config)
    with pytest.raises(InvalidArgument, match="only generate_dockerfile=True packages"):
        image.save(tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- bad input: clear errors, nothing written ------------------------------------------------


def _nothing_written(ws: Workspace) -> bool:
    folder = ws.path / "packages"
    return not ws.store.list_documents("package") and (
        not folder.exists() or not any(folder.iterdir())
    )


def test_an_unknown_model_is_refused_before_anything_is_written(
    pws: Workspace, seed_config: InferenceConfig
) -> None:
    with pytest.raises(NotFound, match="nope"):
        Model.package(pws, ["nope:1"], seed_config, generate_dockerfile=True)
    assert _nothing_written(pws)


def test_a_missing_entry_script_is_refused_before_anything_is_written(
    pws: Workspace, seed_model: Model, seed_env: Environment, tmp_path: Path
) -> None:
    script = tmp_path / "score.py"
    script.write_text(SEED_SCRIPT.read_text())
    config = InferenceConfig(entry_script=str(script), environment=seed_env)
    script.unlink()
    with pytest.raises(InvalidArgument, match=r"Entry script .*score\.py does not exist"):
        Model.package(pws, [seed_model], config, generate_dockerfile=True)
    assert _nothing_written(pws)


@pytest.mark.parametrize(
    ("changes", "steps", "message"),
    [
        ({"image_name": "Has Spaces"}, None, "Invalid image_name"),
        ({"image_label": "-bad"}, None, "Invalid image_label"),
        ({}, "", "extra_docker_file_steps file .* does not exist"),
        ({}, "FROM ubuntu\n", "has a FROM line"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(
    pws: Workspace,
    seed_model: Model,
    seed_env: Environment,
    tmp_path: Path,
    changes: dict[str, str],
    steps: str | None,
    message: str,
) -> None:
    steps_file = tmp_path / "steps.dockerfile"
    if steps:
        steps_file.write_text(steps)
    config = InferenceConfig(
        entry_script=str(SEED_SCRIPT),
        environment=seed_env,
        extra_docker_file_steps=str(steps_file) if steps is not None else None,
    )
    with pytest.raises(InvalidArgument, match=message):
        Model.package(pws, [seed_model], config, generate_dockerfile=True, **changes)
    assert _nothing_written(pws)


def test_two_models_need_an_entry_script(pws: Workspace, model_file: Path) -> None:
    a = Model.register(pws, model_file, "a", model_framework="ScikitLearn")
    b = Model.register(pws, model_file, "b", model_framework="ScikitLearn")
    with pytest.raises(InvalidArgument, match="exactly one model"):
        Model.package(pws, [a, b], generate_dockerfile=True)
    assert _nothing_written(pws)


def test_saving_into_a_folder_that_is_not_empty_is_refused_and_changes_nothing(
    pws: Workspace, seed_model: Model, seed_config: InferenceConfig, tmp_path: Path
) -> None:
    package = Model.package(pws, [seed_model], seed_config, generate_dockerfile=True)
    target = tmp_path / "imagefiles"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(InvalidArgument, match="is not empty"):
        package.save(target)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".imagefiles")]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert Path(package.save(empty), "Dockerfile").is_file()
