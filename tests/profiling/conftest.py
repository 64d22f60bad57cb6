"""Fixtures for profiling tests: a workspace whose services and profile services are all gone
at the end (a profile must clean up after itself; the assertion lives in the tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelport.core import Workspace

SCRIPTS = Path(__file__).parent / "scripts"
SEED_REQUEST = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}
FAST = {"concurrency_steps": (1, 2, 4), "step_duration_s": 1.0}


@pytest.fixture
def pws(service_ws: Workspace) -> Workspace:
    return service_ws


@pytest.fixture
def seed_requests(tmp_path: Path) -> Path:
    """The seed's dataset: 100 copies of one JSON request, one per line."""
    path = tmp_path / "sample_request_data.txt"
    path.write_text("\n".join([json.dumps(SEED_REQUEST)] * 100))
    return path
