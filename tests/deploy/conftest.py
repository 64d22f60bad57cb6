"""Fixtures for deployment tests: a workspace with a registered Ridge model, and cleanup
that stops every service a test started (no process outlives the test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.core import Model, Workspace

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture
def dws(service_ws: Workspace) -> Workspace:
    return service_ws


@pytest.fixture
def ridge(dws: Workspace, model_file: Path) -> Model:
    return Model.register(dws, model_file, "sklearn_regression")
