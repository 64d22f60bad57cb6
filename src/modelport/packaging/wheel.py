"""A wheel of the running modelport, so a packaged image never depends on modelport being on PyPI.

From a source checkout the wheel is built once per state of the source (version plus a hash of
every packaged file: an edited checkout must not ship a stale wheel) and cached; building
happens in a temporary folder renamed into place under a lock, so a cached wheel is always
whole. An installed (non-checkout) modelport has no source to build from: the image then
installs `modelport==<version>` from the package index instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from modelport._locks import named_lock
from modelport._version import __version__
from modelport.environments._process import find_uv
from modelport.environments.build import _modelport_source  # the checkout we run from, if any
from modelport.errors import PackageError

Log = Callable[[str], None]
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".ruff_cache"}


def modelport_wheel(cache_root: Path, log: Log) -> Path | None:
    """The cached wheel of this modelport (built on first use); None when not run from source."""
    source = _modelport_source()
    if source is None:
        log(f"modelport {__version__} is not a source checkout: the image installs it from PyPI")
        return None
    key = f"{__version__}-{source_digest(source)}"
    folder = cache_root / key
    with named_lock(cache_root, key):
        found = _cached(folder)
        if found is not None:
            log(f"modelport wheel: reusing {found.name} ({key})")
            return found
        log(f"modelport wheel: building from {source}")
        _build_into(folder, source)
    built = _cached(folder)
    assert built is not None, "a completed build holds exactly one wheel"
    log(f"modelport wheel: built {built.name} ({key})")
    return built


def source_digest(source: Path) -> str:
    """sha256 (16 hex digits) over the files that go into the wheel, by path and content."""
    digest = hashlib.sha256()
    files = [source / "pyproject.toml", source / "README.md"]
    for root, dirs, names in os.walk(source / "src" / "modelport"):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        files += [Path(root) / n for n in sorted(names) if not n.endswith((".pyc", ".pyo"))]
    for path in files:
        if path.is_file():
            digest.update(path.relative_to(source).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _cached(folder: Path) -> Path | None:
    wheels = sorted(folder.glob("modelport-*.whl")) if folder.is_dir() else []
    return wheels[0] if len(wheels) == 1 else None


def _build_into(folder: Path, source: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        result = subprocess.run(
            _build_command(source, staging),
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR": "1", "UV_NO_PROGRESS": "1"},
            check=False,
        )
        wheels = list(staging.glob("modelport-*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise PackageError(
                f"Could not build the modelport wheel from {source}: {last[0]}",
                hint="Check that `uv build --wheel` works in the checkout.",
            )
        for other in staging.iterdir():  # uv adds a .gitignore beside the wheel
            if other not in wheels:
                other.unlink()
        shutil.rmtree(folder, ignore_errors=True)  # an incomplete earlier attempt
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _build_command(source: Path, out: Path) -> list[str]:
    uv = find_uv()
    if uv is not None:
        return [str(uv), "build", "--wheel", "--out-dir", str(out), str(source)]
    return [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out), str(source)]
