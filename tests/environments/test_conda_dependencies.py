from __future__ import annotations

import sys
from pathlib import Path

import pytest

from modelport.environments import CondaDependencies
from modelport.errors import InvalidArgument, NotFound


def test_reads_the_seed_guides_conda_file(seed_conda_file: Path) -> None:
    deps = CondaDependencies(conda_dependencies_file_path=seed_conda_file)
    assert deps.get_python_version() == "3.6.2"
    assert deps.conda_packages == ["scikit-learn=0.20.0"]
    assert deps.pip_packages == ["azureml-defaults>=1.0.45", "inference-schema[numpy-support]"]


def test_create_and_edit_like_a_notebook() -> None:
    deps = CondaDependencies.create(
        pip_packages=["azureml-defaults", "inference-schema[numpy-support]"],
        conda_packages=["numpy", "scikit-learn==0.22.1"],
        pin_sdk_version=False,
    )
    deps.add_pip_package("joblib")
    deps.add_pip_package("Inference_Schema==1.8")  # replaces the same project
    deps.remove_pip_package("azureml-defaults")
    assert deps.pip_packages == ["joblib", "Inference_Schema==1.8"]
    assert deps.conda_packages == ["numpy", "scikit-learn==0.22.1"]
    assert deps.get_python_version() == "{}.{}".format(*sys.version_info[:2])


def test_serialize_to_string_round_trips(tmp_path: Path) -> None:
    deps = CondaDependencies.create(
        pip_packages=["six>=1.16", "idna"], conda_packages=["numpy=1.26"], python_version="3.11"
    )
    deps.add_channel("conda-forge")
    deps.set_pip_option("--extra-index-url https://example.invalid/simple")
    text = deps.serialize_to_string()
    assert "- python=3.11" in text
    assert CondaDependencies.from_string(text) == deps
    deps.save(tmp_path / "env.yml")
    assert CondaDependencies(tmp_path / "env.yml") == deps


def test_dict_round_trip() -> None:
    deps = CondaDependencies.create(pip_packages=["six"], conda_packages=["numpy"])
    assert CondaDependencies.from_dict(deps.to_dict()) == deps


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"nope\.yml"):
        CondaDependencies(tmp_path / "nope.yml")


@pytest.mark.parametrize("text", ["[1, 2", "- just\n- a list\n", "dependencies:\n  - {x: 1}\n"])
def test_bad_yaml_is_invalid_argument(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(InvalidArgument, match=r"bad\.yml"):
        CondaDependencies(path)
