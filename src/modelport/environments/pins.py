"""Old pins on a new Python: which ones can install here, the nearest release that can, and
the date an environment was written (to resolve its unpinned dependencies as of then).

Facts come from PyPI's JSON API (`/pypi/<name>/json`: every release's files, upload times and
`requires-python`), cached per package in `cache_root/.pypi/` for a day: a release's files and
dates do not change, only new releases appear. Without PyPI (a private index, no network) the
checks are skipped with a note and the installer decides alone.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import compatible_tags, cpython_tags, sys_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

PYPI = "https://pypi.org/pypi"
CACHE_TTL_S = 24 * 3600
CUTOFF_MARGIN = dt.timedelta(days=30)  # bug-fix releases of the pinned era still resolve
# An environment cannot have resolved before its interpreter existed: the cut-off is never
# earlier than this Python's first release (plus the margin), when wheels for it appeared.
PYTHON_RELEASED = {
    (3, 11): dt.datetime(2022, 10, 24, tzinfo=dt.UTC),
    (3, 12): dt.datetime(2023, 10, 2, tzinfo=dt.UTC),
    (3, 13): dt.datetime(2024, 10, 7, tzinfo=dt.UTC),
    (3, 14): dt.datetime(2025, 10, 7, tzinfo=dt.UTC),
}
_EXACT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^=;,\s*]+)(\.\*)?$")


class Unavailable(Exception):
    """PyPI could not be asked (offline, private index): skip the checks."""


@dataclass(frozen=True)
class Pin:
    """An exact requirement: `name==1.2.3` or `name==1.2.*` (extras kept as written)."""

    requirement: str
    name: str
    extras: str
    version: str
    prefix: bool  # `==1.2.*`

    def matches(self, version: Version) -> bool:
        spec = f"=={self.version}.*" if self.prefix else f"=={self.version}"
        return version in SpecifierSet(spec)


@dataclass(frozen=True)
class Release:
    version: Version
    uploaded: dt.datetime  # the earliest file of the release
    installs_here: bool


def exact_pin(requirement: str) -> Pin | None:
    """The pin in `requirement` when it names one release (or one release series)."""
    match = _EXACT.match(requirement.strip())
    if match is None:
        return None
    return Pin(requirement, match[1], match[2] or "", match[3], bool(match[4]))


class PyPI:
    """Release facts for packages, through a small on-disk cache.

    `python` (major, minor) judges installability for another CPython on this platform (an
    image's); by default the running interpreter is the judge."""

    def __init__(self, cache_root: Path, python: tuple[int, int] | None = None) -> None:
        self.folder = cache_root / ".pypi"
        if python is None or python == sys.version_info[:2]:
            self.tags = {str(t) for t in sys_tags()}
            self.python = Version("{}.{}.{}".format(*sys.version_info[:3]))
        else:
            found = [*cpython_tags(python_version=python), *compatible_tags(python_version=python)]
            self.tags = {str(t) for t in found}
            self.python = Version("{}.{}".format(*python))

    def releases(self, name: str) -> list[Release]:
        """Every non-yanked final release, oldest first."""
        data = self._project(canonicalize_name(name))
        found: list[Release] = []
        for text, files in data.get("releases", {}).items():
            try:
                version = Version(text)
            except InvalidVersion:
                continue
            files = [f for f in files if not f.get("yanked")]
            if version.is_prerelease or not files:
                continue
            uploaded = min(_time(f["upload_time_iso_8601"]) for f in files)
            found.append(Release(version, uploaded, self._installs_here(files)))
        return sorted(found, key=lambda r: r.version)

    def _installs_here(self, files: list[dict[str, Any]]) -> bool:
        """A wheel for this interpreter and platform, or only an sdist (pure-Python packages
        ship one) that allows this Python: a binary package without a wheel for this Python
        would have to compile, which old releases do not do on a new Python."""
        wheels = [f for f in files if f["filename"].endswith(".whl")]
        if wheels:
            return any(self._wheel_fits(f["filename"]) for f in wheels)
        return all(self._python_fits(f.get("requires_python")) for f in files)

    def _wheel_fits(self, filename: str) -> bool:
        try:
            tags = parse_wheel_filename(filename)[3]
        except InvalidWheelFilename:
            return False
        return any(str(t) in self.tags for t in tags)

    def _python_fits(self, requires: str | None) -> bool:
        if not requires:
            return True
        try:
            return self.python in SpecifierSet(requires)
        except InvalidSpecifier:
            return True

    def _project(self, name: str) -> dict[str, Any]:
        path = self.folder / f"{name}.json"
        try:
            if time.time() - path.stat().st_mtime < CACHE_TTL_S:
                cached: dict[str, Any] = json.loads(path.read_text())
                return cached
        except (OSError, ValueError):
            pass
        try:
            with urllib.request.urlopen(f"{PYPI}/{name}/json", timeout=30) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return {"releases": {}}
            raise Unavailable(f"PyPI answered {exc.code} for {name}") from None
        except (OSError, TimeoutError) as exc:
            raise Unavailable(f"PyPI is not reachable ({exc})") from None
        data = json.loads(body)
        slim = {"releases": data.get("releases", {})}
        self.folder.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(f".{os.getpid()}.part")
        part.write_text(json.dumps(slim))
        os.replace(part, path)  # concurrent builders never read half a file
        return slim


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def unsatisfiable(pin: Pin, releases: list[Release]) -> bool:
    """No release matching the pin installs here."""
    return not any(r.installs_here and pin.matches(r.version) for r in releases)


def nearest(pin: Pin, releases: list[Release]) -> Release | None:
    """The closest release that installs here: the oldest newer one (old pins are below the
    first release for a new Python), else the newest older one."""
    wanted = Version(pin.version)
    fitting = [r for r in releases if r.installs_here]
    newer = [r for r in fitting if r.version > wanted]
    if newer:
        return newer[0]
    older = [r for r in fitting if r.version < wanted]
    return older[-1] if older else None


def release_of(pin: Pin, releases: list[Release]) -> Release | None:
    """The release a pin installs (the newest of a `==1.2.*` series)."""
    matching = [r for r in releases if pin.matches(r.version)]
    return matching[-1] if matching else None


def cutoff_for(
    dated: list[tuple[Pin, Release]], python: tuple[int, int] | None = None
) -> tuple[dt.datetime, str] | None:
    """The environment's date: its newest pinned release plus the margin, and why (never
    before `python`'s release, by default the running one's)."""
    if not dated:
        return None
    pin, release = max(dated, key=lambda item: item[1].uploaded)
    when = release.uploaded + CUTOFF_MARGIN
    why = (
        f"the newest pin, {pin.name}=={release.version}, was released "
        f"{release.uploaded:%Y-%m-%d}; + {CUTOFF_MARGIN.days} days"
    )
    here = python or (sys.version_info[0], sys.version_info[1])
    known = [v for v in PYTHON_RELEASED if v <= here]
    if known:
        floor = PYTHON_RELEASED[max(known)] + CUTOFF_MARGIN
        if when < floor:
            return floor, f"{why}, raised to Python {here[0]}.{here[1]}'s release + margin"
    return when, why
