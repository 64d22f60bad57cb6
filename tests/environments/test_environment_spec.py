from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelport.core import Workspace
from modelport.environments import CondaDependencies, Environment
from modelport.environments.resolve import normalise_requirement, resolve, spec_hash
from modelport.errors import InvalidArgument, NotFound


def _seed_env(path: Path) -> Environment:
    return Environment.from_conda_specification(name="myenv", file_path=path)


def test_seed_spec_resolves_to_pip_requirements(seed_conda_file: Path) -> None:
    resolved = resolve(_seed_env(seed_conda_file))
    assert resolved.requirements == ("scikit-learn==0.20.0", "inference-schema[numpy-support]")
    assert resolved.python_version == "3.6"
    assert any(
        "azureml-defaults>=1.0.45" in n and "compatibility layer" in n for n in resolved.notes
    )
    assert resolved.origin("scikit-learn==0.20.0") == "conda: scikit-learn=0.20.0"


def test_to_dict_from_dict_round_trip(seed_conda_file: Path) -> None:
    env = _seed_env(seed_conda_file)
    env.environment_variables = {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    env.docker.base_image = "python:3.11-slim"
    env.docker.enabled = True
    env.inferencing_stack_version = "latest"
    data = env.to_dict()
    assert json.loads(json.dumps(data)) == data
    again = Environment.from_dict(data)
    assert again == env
    assert again.to_dict() == data


def test_assigning_conda_dependencies_like_a_notebook() -> None:
    env = Environment(name="nb")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["six"])
    env.python.conda_dependencies.add_pip_package("idna")
    assert resolve(env).requirements == ("six", "idna")


def test_default_and_current() -> None:
    default = Environment.default()
    assert default.name == "modelport-default"
    resolved = resolve(default)
    assert not resolved.wants_modelport  # services get modelport-runtime, not all of it
    assert set(resolved.requirements) == {"numpy", "pandas", "scikit-learn", "inference-schema"}
    current = Environment.current()
    assert current.python.user_managed_dependencies
    assert resolve(current).requirements == ()


def test_hash_ignores_package_order_and_spelling() -> None:
    a = CondaDependencies.create(pip_packages=["six>=1.16", "Inference_Schema[Numpy-Support]"])
    b = CondaDependencies.create(pip_packages=["inference-schema[numpy-support]", "six >= 1.16"])
    env_a, env_b = Environment("a"), Environment("b")
    env_a.python.conda_dependencies, env_b.python.conda_dependencies = a, b
    key_a = resolve(env_a).key(interpreter="/usr/bin/python3", modelport=None)
    key_b = resolve(env_b).key(interpreter="/usr/bin/python3", modelport=None)
    assert spec_hash(key_a) == spec_hash(key_b)
    assert spec_hash(key_a) != spec_hash({**key_a, "modelport": "modelport==0.1.0"})


def test_hash_is_stable_across_releases() -> None:
    # Changing the key scheme must change HASH_FORMAT: old caches would silently be missed.
    key = {
        "format": 1,
        "interpreter": "/usr/bin/python3",
        "modelport": None,
        "pip_options": [],
        "requirements": ["six"],
    }
    assert spec_hash(key) == "0deb8e7be75616bd"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Scikit_Learn [AllDeps] >= 1.0", "scikit-learn[alldeps]>=1.0"),
        ("six", "six"),
        ("pkg @ https://example.invalid/pkg.whl", "pkg@ https://example.invalid/pkg.whl"),
    ],
)
def test_normalise_requirement(raw: str, expected: str) -> None:
    assert normalise_requirement(raw) == expected


def test_register_get_and_list(ws: Workspace, seed_conda_file: Path) -> None:
    """The versioning rule of the real store (SQLite, then PostgreSQL): an unchanged spec keeps
    the latest version; any other spec, an earlier one included, gets the next number."""
    env = _seed_env(seed_conda_file)
    assert env.version is None
    assert env.register(workspace=ws).version == 1
    assert env.register(ws).version == 1  # unchanged spec: the store keeps the latest
    first_spec = env.to_dict()
    env.python.conda_dependencies.add_pip_package("six")  # type: ignore[union-attr]
    assert env.register(ws).version == 2
    assert env.register(ws).version == 2
    back = Environment.from_dict(first_spec)
    assert back.register(ws).version == 3  # equal to version 1, not to the latest

    first = Environment.get(workspace=ws, name="myenv", version="1")
    assert first.version == 1
    assert first.python.conda_dependencies is not None
    assert "six" not in first.python.conda_dependencies.pip_packages
    second = Environment.get(ws, "myenv", version="2")
    assert second.version == 2 and second == env
    latest = Environment.get(ws, "myenv")
    assert latest.version == 3 and latest == back

    Environment("other").register(ws)
    listed = Environment.list(ws)
    assert sorted(listed) == ["myenv", "other"]
    assert listed["myenv"].version == 3


def test_get_rejects_bad_versions_and_unknown_names(ws: Workspace) -> None:
    with pytest.raises(InvalidArgument, match="must be a number"):
        Environment.get(ws, "x", version="latest")
    with pytest.raises(NotFound):
        Environment.get(ws, "x")
    Environment("x").register(ws)
    with pytest.raises(NotFound):
        Environment.get(ws, "x", version="2")


def test_newer_format_is_refused() -> None:
    data = Environment("x").to_dict()
    data["format"] = 99
    with pytest.raises(InvalidArgument, match="newer modelport"):
        Environment.from_dict(data)


@pytest.mark.parametrize("name", ["", "   ", None])
def test_names_must_be_non_empty(name: Any) -> None:
    with pytest.raises(InvalidArgument):
        Environment(name)


def test_curated_azure_environments_resolve_and_clone(tmp_path):
    from modelport.core import Workspace
    from modelport.environments import Environment

    ws = Workspace.create(tmp_path / "ws")
    curated = Environment.get(ws, "AzureML-sklearn-0.24-ubuntu18.04-py37-cpu")
    packages = curated.python.conda_dependencies.pip_packages
    assert "scikit-learn" in packages and "azureml-defaults" in packages
    mine = curated.clone("myenv")
    mine.python.conda_dependencies.add_pip_package("six")
    assert mine.name == "myenv" and mine.version is None
    assert "six" not in curated.python.conda_dependencies.pip_packages
    assert mine.register(ws).version == 1
    ws.close()
