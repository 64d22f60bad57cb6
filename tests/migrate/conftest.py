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
    # Only the samples: tool caches (.ruff_cache) and configs beside them are not v1 code.
    shutil.copytree(SCRIPTS, target, ignore=shutil.ignore_patterns(".*", "*.toml", "__pycache__"))
    return target
