"""Shared fixtures: real workspaces on real SQLite files (and PostgreSQL when available)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.core.workspace import Workspace

POSTGRES_URL = os.environ.get("MODELPORT_TEST_POSTGRES_URL")
# The seed guide's sklearn + inference_schema entry script, as the demo ships it.
SEED_SCORE = Path(__file__).resolve().parents[1] / "examples" / "score.py"


def _postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not available: set MODELPORT_TEST_POSTGRES_URL (.ci/run does)")
    import psycopg

    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"mp_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """A new workspace; runs each test on SQLite and again on PostgreSQL."""
    if request.param == "sqlite":
        workspace = Workspace.create(tmp_path / "ws")
        yield workspace
        workspace.close()
        return
    for url in _postgres_database():
        workspace = Workspace.create(tmp_path / "ws", database_url=url)
        yield workspace
        workspace.close()


@pytest.fixture
def sqlite_ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.create(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture
def service_ws(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace whose services are all deleted at teardown: no process outlives a test."""
    from modelport.core.webservice import Webservice

    workspace = Workspace.create(tmp_path / "ws")
    yield workspace
    for service in Webservice.list(workspace):
        service.delete()
    workspace.close()


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    """A small pickled scikit-learn model made on the spot."""
    import joblib
    import numpy as np
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 10))
    model = Ridge().fit(x, x @ np.arange(10.0))
    path = tmp_path / "sklearn_regression_model.pkl"
    joblib.dump(model, path)
    return path


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "my_model_folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(os.urandom(200_000))
    (folder / "config.json").write_text('{"layers": 2}')
    (folder / "sub" / "vocab.txt").write_text("a\nb\nc\n")
    return folder


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real `modelport` command in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        input=input_text,
        timeout=120,
    )
