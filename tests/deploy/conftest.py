"""Fixtures for deployment tests: a workspace with a registered Ridge model, and cleanup
that stops every service a test started (no process outlives the test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.core import Model, Workspace
from modelport.core.webservice import Webservice

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture
def dws(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path / "ws")
    yield ws
    for service in Webservice.list(ws):
        service.delete()
    ws.close()


@pytest.fixture
def ridge(dws: Workspace, model_file: Path) -> Model:
    return Model.register(dws, model_file, "sklearn_regression")
