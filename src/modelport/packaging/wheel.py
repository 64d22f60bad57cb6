"""The modelport wheel a packaged image installs, so an image never depends on modelport being
on an index: modelport-runtime (what `python -m modelport.scoring` needs), or all of modelport
when the environment lists `modelport`.

Written from the installed package files (a checkout, an editable install or an installed
wheel alike) by `modelport.environments.runtime`, and cached by version plus a digest of its
content: an edited checkout never ships a stale wheel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from modelport.environments.runtime import full_source, installed_wheel, runtime_source

Log = Callable[[str], None]


def modelport_wheel(cache_root: Path, log: Log, *, full: bool = False) -> Path:
    """The cached wheel (written on first use): the runtime, or all of modelport if `full`."""
    return installed_wheel(
        full_source() if full else runtime_source(), cache_root, log, "modelport wheel"
    )
