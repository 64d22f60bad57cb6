"""The seed's packaging example: its scikit-learn model, its score.py and a pip environment."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.core import Environment, InferenceConfig, Model, Workspace
from modelport.environments import CondaDependencies
from tests.conftest import SEED_SCORE as SEED_SCRIPT

SEED_REQUEST = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}


@pytest.fixture
def pws(sqlite_ws: Workspace) -> Workspace:
    return sqlite_ws


@pytest.fixture
def seed_model(pws: Workspace, model_file: Path) -> Model:
    return Model.register(pws, model_file, "sklearn_regression_model")


@pytest.fixture
def seed_env() -> Environment:
    """The seed's environment as pip packages, with scikit-learn pinned to the one that
    pickled the model (so it loads) and the v1 package modelport replaces."""
    import sklearn

    env = Environment("myenv")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=[
            f"scikit-learn=={sklearn.__version__}",
            "joblib",
            "azureml-defaults>=1.0.45",
            "inference-schema[numpy-support]",
        ]
    )
    return env


@pytest.fixture
def seed_config(seed_env: Environment) -> InferenceConfig:
    return InferenceConfig(entry_script=str(SEED_SCRIPT), environment=seed_env)


@pytest.fixture
def no_docker_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No engine answers: the configured socket does not exist (and a `docker` CLI with no
    daemon behind it, for anything that would shell out)."""
    monkeypatch.setenv("MODELPORT_CONTAINER_ENGINE", f"unix://{tmp_path}/no-engine.sock")
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
        "Is the docker daemon running?' >&2\n"
        "exit 1\n"
    )
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    yield


def environment_lines(context: Path, wheel: Path | None = None) -> list[str]:
    """requirements.in (what the lock in requirements.txt was compiled from) without its
    comments and the modelport runtime's dependencies, which must come last, all of them, so
    the environment layer needs nothing more."""
    from modelport.packaging.context import runtime_dependencies

    wheel = wheel or next((context / "wheels").glob("modelport*.whl"))
    lines = [x for x in (context / "requirements.in").read_text().splitlines() if x[:1] != "#"]
    runtime = list(runtime_dependencies(wheel))
    assert runtime and lines[-len(runtime) :] == runtime
    return lines[: -len(runtime)]


def dockerfile_env(text: str) -> dict[str, str]:
    """Every `NAME="value"` the Dockerfile's ENV instructions set (one per line or several
    joined by continuation lines), unquoted."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found: dict[str, str] = {}
    for line in joined.splitlines():
        if line.startswith("ENV "):
            for name, value in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line):
                found[name] = re.sub(r"\\(.)", r"\1", value)
    return found


# Prints {normalised name: version} of every distribution of the interpreter that runs it.
VERSIONS_SCRIPT = (
    "import importlib.metadata as m, json, re\n"
    "print(json.dumps({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): d.version"
    " for d in m.distributions()}))"
)


def installed_versions(output: str | bytes) -> dict[str, str]:
    """VERSIONS_SCRIPT's output, without each venv's own installer (pip, setuptools, wheel)."""
    found: dict[str, str] = json.loads(output)
    return {n: v for n, v in found.items() if n not in ("pip", "setuptools", "wheel")}
