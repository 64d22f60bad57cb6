"""A wheel of the running modelport, so a packaged image never depends on modelport being on PyPI.

Written from the installed package files (a checkout, an editable install or an installed
wheel alike) by `modelport.environments.runtime`, and cached by version plus a digest of its
content: an edited checkout never ships a stale wheel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from modelport.environments.runtime import full_source, installed_wheel

Log = Callable[[str], None]


def modelport_wheel(cache_root: Path, log: Log) -> Path:
    """The cached wheel of this modelport (written on first use)."""
    return installed_wheel(full_source(), cache_root, log, "modelport wheel")
