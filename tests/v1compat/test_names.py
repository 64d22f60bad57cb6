"""v1 names that work without a service: environments, conda dependencies, models, configs,
telemetry, widgets. Each either works, or warns in one line why it has no effect, or refuses
in one line saying what to do instead; none raises AttributeError."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from modelport._ignored import IgnoredWarning, Unsupported
from modelport.core import VERSION, Experiment, Model, Workspace
from modelport.core.conda_dependencies import CondaDependencies
from modelport.core.environment import (
    DEFAULT_CPU_IMAGE,
    DEFAULT_GPU_IMAGE,
    Environment,
    RSection,
    SparkPackage,
)
from modelport.core.model import InferenceConfig
from modelport.core.runconfig import DEFAULT_CPU_IMAGE as RUNCONFIG_CPU_IMAGE
from modelport.errors import AlreadyExists, InvalidArgument, NotFound
from modelport.telemetry import set_diagnostics_collection
from modelport.widgets import RunDetails


def test_conda_dependencies_helpers_behave_as_v1() -> None:
    deps = CondaDependencies.create(pip_packages=["tensorflow==2.10", "six"])
    deps.add_tensorflow_pip_package()  # replaces the earlier tensorflow pin, unpinned
    assert deps.pip_packages == ["six", "tensorflow"]
    deps.add_tensorflow_pip_package(core_type="gpu", version="2.15.0")
    assert deps.pip_packages == ["six", "tensorflow[and-cuda]==2.15.0"]
    deps.add_cntk_package()
    assert "cntk==2.7" in deps.pip_packages
    with pytest.raises(InvalidArgument, match="core_type"):
        deps.add_tensorflow_conda_package(core_type="tpu")
    deps.set_pip_option("--extra-index-url https://a/simple")
    deps.set_pip_index_url("--index-url https://b/simple")
    deps.remove_pip_option("--extra-index-url")
    assert deps.pip_options == ["--index-url https://b/simple"]
    with pytest.raises(InvalidArgument, match="start with '-'"):
        deps.remove_pip_option("extra-index-url")
    assert deps.as_dict()["dependencies"][-1] == {"pip": deps.pip_options + deps.pip_packages}
    assert deps.get_default_number_of_packages() == (0, 0)
    assert CondaDependencies.sdk_origin_url().startswith("http")


def test_conda_dependencies_save_to_file_and_the_underlying_structure(tmp_path: Path) -> None:
    deps = CondaDependencies(_underlying_structure={"dependencies": ["python=3.11", "numpy"]})
    assert deps.get_python_version() == "3.11" and deps.conda_packages == ["numpy"]
    relative = deps.save_to_file(str(tmp_path))
    assert relative == ".azureml/conda_dependencies.yml"
    assert CondaDependencies(tmp_path / relative) == deps
    assert Path(deps.save(tmp_path / "env.yml")).is_file()


def test_environment_constants_sections_and_warnings(tmp_path: Path) -> None:
    assert DEFAULT_CPU_IMAGE == RUNCONFIG_CPU_IMAGE and "cuda" in DEFAULT_GPU_IMAGE
    env = Environment("v1")
    assert env.r is None and env.asset_id is None and env.spark.packages == []
    with pytest.warns(IgnoredWarning, match="Environment.r is ignored: .*R packages"):
        env.r = RSection()
    with pytest.warns(IgnoredWarning, match="Databricks"):
        env.databricks.pypi_libraries = ["x"]
    with pytest.warns(IgnoredWarning, match="SparkSection.packages is ignored"):
        env.spark.packages = [SparkPackage("g", "a", "1")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # defaults are not warned about
        env.docker.shm_size = "2g"
        env.docker.arguments = []
    with pytest.raises(Unsupported, match="base_dockerfile"):
        env.docker.build_context = "ctx/"
    with pytest.warns(IgnoredWarning, match="pip_version"):
        requirements = tmp_path / "requirements.txt"
        requirements.write_text("six\n")
        Environment.from_pip_requirements("v1", str(requirements), pip_version="23.0")


def test_environment_docker_forms_and_directories(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\nRUN echo hi\n")
    env = Environment.from_dockerfile("df", str(dockerfile))
    assert env.docker.base_dockerfile == dockerfile.read_text()
    conda = tmp_path / "env.yml"
    conda.write_text("dependencies:\n- python=3.11\n- pip:\n  - six\n")
    env = Environment.from_docker_image("img", "python:3.11-slim", conda_specification=str(conda))
    assert env.docker.base_image == "python:3.11-slim"
    assert env.python.conda_dependencies.pip_packages == ["six"]
    env.save_to_directory(tmp_path / "saved")
    with pytest.raises(AlreadyExists, match="not empty"):
        env.save_to_directory(tmp_path / "saved")
    assert Environment.load_from_directory(tmp_path / "saved") == env
    # A folder written by v1 itself: camelCase definition + conda file.
    v1 = tmp_path / "v1"
    v1.mkdir()
    (v1 / "azureml_environment.json").write_text(
        '{"name": "old", "python": {"userManagedDependencies": false}, '
        '"docker": {"baseImage": "python:3.11-slim"}, "environmentVariables": {"A": "1"}}'
    )
    conda.rename(v1 / "conda_dependencies.yml")
    old = Environment.load_from_directory(v1)
    assert (old.name, old.docker.base_image, old.environment_variables) == (
        "old",
        "python:3.11-slim",
        {"A": "1"},
    )
    assert old.python.conda_dependencies.pip_packages == ["six"]
    section = env.python
    section.conda_dependencies_file = str(v1 / "conda_dependencies.yml")
    assert section.conda_dependencies.pip_packages == ["six"]


def test_environment_build_details_and_private_wheels(sqlite_ws: Workspace, tmp_path: Path) -> None:
    env = Environment.current()
    build = env.build(sqlite_ws).wait_for_completion()
    assert build.status == "Succeeded"
    details = env.get_image_details(sqlite_ws)
    assert Path(details["pythonEnvironment"]["interpreterPath"]).exists()
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    kept = Environment.add_private_pip_wheel(sqlite_ws, str(wheel))
    assert Path(kept).read_bytes() == b"PK" and Path(kept).parent == sqlite_ws.path / "wheels"
    with pytest.raises(AlreadyExists):
        Environment.add_private_pip_wheel(sqlite_ws, str(wheel))
    assert Environment.add_private_pip_wheel(sqlite_ws, str(wheel), exist_ok=True) == kept
    with pytest.warns(IgnoredWarning, match="label"):
        Environment.label(sqlite_ws, "x", 1, ["prod"])


def test_model_names(
    sqlite_ws: Workspace, model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = Model.register(sqlite_ws, model_file, "ridge", model_framework="ScikitLearn")
    assert Model.deserialize(sqlite_ws, model.serialize()) == model
    urls = model.get_sas_urls()
    assert list(urls) == [model_file.name] and urls[model_file.name].startswith("file://")
    model.update_tags_properties(
        add_tags={"a": "1", "b": "2"}, remove_tags=["b"], add_properties={"p": "x"}
    )
    model = Model(sqlite_ws, "ridge")
    assert (model.tags, model.properties) == ({"a": "1"}, {"p": "x"})
    assert Model.list(sqlite_ws, model_framework=Model.Framework.SCIKITLEARN) == [model]
    assert Model.list(sqlite_ws, model_framework="Onnx") == []
    assert Model(sqlite_ws, "ridge", model_framework="ScikitLearn") == model
    with pytest.raises(NotFound, match="framework"):
        Model(sqlite_ws, "ridge", model_framework="Onnx")
    with pytest.warns(IgnoredWarning, match="fixed at Model.register"):
        model.update(description="d", sample_input_dataset="ds")
    with pytest.warns(IgnoredWarning, match="lineage"):
        model.add_dataset_references([("training", "ds")])
    Model.print_configuration([model], InferenceConfig(entry_script=None), None, None)
    assert "Models: ridge:1" in capsys.readouterr().out


def test_inference_config_checks(tmp_path: Path) -> None:
    script = tmp_path / "score.py"
    script.write_text("def init():\n    pass\ndef run(d)\n    return d\n")
    config = InferenceConfig(entry_script=str(script))
    with pytest.raises(InvalidArgument, match="line 3"):
        config.validation_script_content()
    config.validate_configuration()
    config.entry_script = str(tmp_path / "gone.py")
    with pytest.raises(InvalidArgument, match="does not exist"):
        config.validate_configuration()
    with pytest.raises(Unsupported, match="REST API"):
        config.build_create_payload(None, "x", [])


def test_telemetry_version_and_run_details(
    sqlite_ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set_diagnostics_collection(send_diagnostics=True) is None
    assert VERSION.count(".") >= 2
    run = Experiment(sqlite_ws, "details").start_logging()
    run.log("rmse", 0.25)
    run.upload_file("notes.txt", __file__)
    run.complete()
    RunDetails(run).show()
    out = capsys.readouterr().out
    assert f"Run {run.id} (details): Completed" in out
    assert "metric  rmse = [0.25]" in out or "metric  rmse = 0.25" in out
    assert "file    notes.txt" in out


def test_an_existing_conda_environment_is_read_from_conda_or_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import shutil

    from modelport.errors import InvalidArgument, NotFound

    if not any(shutil.which(t) for t in ("conda", "mamba", "micromamba")):
        monkeypatch.setenv("PATH", str(tmp_path))  # no conda here either way
        with pytest.raises(InvalidArgument) as refused:
            Environment.from_existing_conda_environment("v1", "myenv")
        assert "no conda, mamba or micromamba on PATH" in str(refused.value)
        assert "conda env export -n NAME > env.yml" in str(refused.value)
        return
    with pytest.raises(NotFound, match="could not export environment"):  # pragma: no cover
        Environment.from_existing_conda_environment("v1", "modelport-no-such-env")
    env = Environment.from_existing_conda_environment("v1", "base")  # pragma: no cover
    assert env.python.conda_dependencies is not None  # pragma: no cover


def test_a_docker_build_context_gives_the_image_base_or_a_clear_refusal(tmp_path: Path) -> None:
    from modelport.core.environment import DockerBuildContext
    from modelport.errors import InvalidArgument

    folder = tmp_path / "ctx"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM python:3.11-slim\nRUN echo built\n")
    context = DockerBuildContext.from_local_directory(None, str(folder))
    env = Environment.from_docker_build_context("from-ctx", context)
    assert env.docker.base_dockerfile == "FROM python:3.11-slim\nRUN echo built\n"
    (folder / "Other.dockerfile").write_text("FROM python:3.11-slim\nCOPY extra.txt /x\n")
    copying = DockerBuildContext.from_local_directory(
        None, folder, dockerfile_path="Other.dockerfile"
    )
    with pytest.raises(InvalidArgument, match="copies files of its build context"):
        Environment.from_docker_build_context("copying", copying)
    with pytest.raises(InvalidArgument, match="does not exist"):
        DockerBuildContext.from_local_directory(None, tmp_path / "missing")
