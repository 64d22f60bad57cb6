"""Shared fixtures: one build cache per test session, so real builds happen once."""

from __future__ import annotations

from pathlib import Path

import pytest

SEED_YAML = """\
name: project_environment
dependencies:
  - python=3.6.2
  - scikit-learn=0.20.0
  - pip:
      # You must list azureml-defaults as a pip dependency
    - azureml-defaults>=1.0.45
    - inference-schema[numpy-support]
"""


@pytest.fixture
def seed_conda_file(tmp_path: Path) -> Path:
    """The conda file from the seed deployment guide, verbatim."""
    path = tmp_path / "myenv.yml"
    path.write_text(SEED_YAML)
    return path


@pytest.fixture(scope="session")
def env_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("env-cache")


@pytest.fixture
def build_log() -> list[str]:
    return []
