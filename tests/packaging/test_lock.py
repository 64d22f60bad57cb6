"""A package's requirements.txt is the lock of its environment, resolved the way a local build
resolves it: the same versions as the local virtualenv (the resolution cut-off included), the
same refusal of a pin that cannot install, the same `resolve_nearest` replacement.

Real uv resolutions against PyPI (or uv's cache) and a real local build; no engine needed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from modelport.core import Environment, InferenceConfig, Model, Workspace
from modelport.environments import CondaDependencies, build_environment
from modelport.environments.lock import LOCK_HEADER, EnvironmentLock
from modelport.errors import EnvironmentBuildError
from tests.conftest import SEED_SCORE
from tests.packaging.conftest import VERSIONS_SCRIPT, installed_versions

pytestmark = pytest.mark.slow


def _env(name: str, *packages: str) -> Environment:
    env = Environment(name)
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=list(packages))
    return env


def _context(ws: Workspace, model: Model, env: Environment, dest: Path) -> Path:
    package = Model.package(
        ws, [model], InferenceConfig(str(SEED_SCORE), environment=env), generate_dockerfile=True
    )
    package.wait_for_creation()
    return Path(package.save(dest))


def _lock(context: Path) -> EnvironmentLock:
    text = (context / "requirements.txt").read_text()
    inputs = tuple(
        x for x in (context / "requirements.in").read_text().splitlines() if x[:1] != "#"
    )
    return EnvironmentLock(inputs=inputs, text=text, hashed="--hash=" in text)


def _installed(python: Path) -> dict[str, str]:
    command = [str(python), "-c", VERSIONS_SCRIPT]
    return installed_versions(subprocess.run(command, capture_output=True, check=True).stdout)


def test_the_lock_holds_the_versions_the_local_build_installed(
    pws: Workspace, seed_model: Model, tmp_path: Path
) -> None:
    # joblib 1.3.2 dates the environment (August 2023): the bare threadpoolctl and the runtime's
    # non-plumbing dependencies (werkzeug) resolve as of then, locally and in the lock alike
    env = _env("dated", "joblib==1.3.2", "threadpoolctl")
    built = build_environment(env, pws.path / "envs", lambda _line: None)
    context = _context(pws, seed_model, env, tmp_path / "ctx")

    lock = _lock(context)
    assert lock.text.startswith(LOCK_HEADER)
    assert "resolved as of 2023-" in lock.text.splitlines()[0]
    local = _installed(built.python)
    assert local.pop("modelport-runtime") == "0.1.0"  # installed --no-deps after the lock
    assert lock.versions() == local
    assert local["joblib"] == "1.3.2" and local["threadpoolctl"].startswith("3.2")
    entries = re.split(r"\n(?=\S)", lock.text.split("\n", 1)[1].strip())
    assert lock.hashed and entries and all("--hash=sha256:" in e for e in entries)
    dockerfile = (context / "Dockerfile").read_text()
    assert (
        "RUN python3 -m venv /opt/venv && /opt/venv/bin/python -m pip install --no-deps "
        "--require-hashes -r /opt/modelport/requirements.txt"
    ) in dockerfile


def test_a_pin_that_cannot_install_fails_the_package_as_it_fails_a_local_build(
    pws: Workspace, seed_model: Model
) -> None:
    env = _env("old", "scikit-learn==0.22.1", "joblib")
    with pytest.raises(EnvironmentBuildError) as local:
        build_environment(env, pws.path / "envs", lambda _line: None)
    package = Model.package(
        pws,
        [seed_model],
        InferenceConfig(str(SEED_SCORE), environment=env),
        generate_dockerfile=True,
    )
    assert package.state == "Failed"
    with pytest.raises(EnvironmentBuildError) as packaged:
        package.wait_for_creation()
    assert str(packaged.value) == str(local.value)
    assert "'scikit-learn==0.22.1' has no release that installs here" in str(local.value)
    assert "resolve_nearest" in str(local.value) and "\n" not in str(local.value)
    assert not package.context_path.exists()  # nothing half-written


def test_resolve_nearest_in_the_environment_changes_the_locked_pin_and_says_so(
    pws: Workspace, seed_model: Model, tmp_path: Path
) -> None:
    env = _env("nearest", "scikit-learn==0.22.1")
    env.python.resolve_nearest = True
    package = Model.package(
        pws,
        [seed_model],
        InferenceConfig(str(SEED_SCORE), environment=env),
        generate_dockerfile=True,
    )
    package.wait_for_creation()
    log = package.get_logs()
    line = next(
        x for x in log.splitlines() if x.startswith("resolve_nearest: scikit-learn==0.22.1 -> ")
    )
    nearest = line.split(" -> scikit-learn==", 1)[1].split()[0]
    lock = _lock(Path(package.save(tmp_path / "ctx")))
    assert lock.versions()["scikit-learn"] == nearest
    assert f"scikit-learn=={nearest}" in lock.inputs
