"""Fixtures: copies of the v1 sample scripts and notebooks, so `apply` can write to them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parent / "scripts"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    target = tmp_path / "samples"
    shutil.copytree(SCRIPTS, target)
    return target
