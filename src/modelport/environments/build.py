"""Build environments into cached virtualenvs with uv.

Each resolved spec gets one folder, `cache_root/<spec hash>`. Builds happen in a temporary
folder beside it and are renamed into place only when complete, under a per-spec file lock,
so a cached folder is always whole, two builders never collide, and a failed build leaves
nothing behind. A second build of the same spec is a stat call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from modelport.errors import EnvironmentBuildError

from . import pins, runtime
from ._process import Failure, Log, as_log, explain, find_uv, run
from .resolve import ResolvedSpec, current_python, resolve, spec_hash
from .spec import AUTO, Environment

MARKER = "modelport-env.json"
# The scoring server's own floor (pyproject's requires-python): an older interpreter can't run it.
MIN_SERVICE_PYTHON = (3, 11)


@dataclass(frozen=True)
class BuiltEnvironment:
    """A ready virtualenv: run `python` to serve from it."""

    python: Path
    path: Path
    spec_hash: str
    reused: bool


NEAREST_HINT = (
    "Set env.python.resolve_nearest = True (or resolve_nearest=True in the deployment "
    "config, or `modelport model deploy --resolve-nearest`) to install the nearest release "
    "that works here instead, or relax the pin."
)


@dataclass(frozen=True)
class BuildPlan:
    """What to build: the requirements, the base interpreter and which modelport wheel."""

    resolved: ResolvedSpec
    interpreter: Path
    wheel: runtime.WheelSource | None  # modelport-runtime, or all of modelport when asked
    resolve_nearest: bool
    exclude_newer: str | None  # AUTO, an ISO date, or None (resolve to current releases)
    cutoff: dt.datetime | None = None  # decided when building (it needs PyPI)
    refused_python: str | None = None  # why the requested python can't be had (strict mode)
    target_python: str | None = None  # resolve for this major.minor (an image's), not ours

    @property
    def python(self) -> str:
        """The major.minor the packages are resolved for."""
        return self.target_python or current_python()

    def python_tuple(self) -> tuple[int, int]:
        major, minor = self.python.split(".")[:2]
        return int(major), int(minor)


def build_environment(
    env: Environment,
    cache_root: Path,
    log: Log | TextIO,
    *,
    install_modelport: bool = True,
    resolve_nearest: bool = False,
) -> BuiltEnvironment:
    """Build (or reuse) the virtualenv for `env` under `cache_root`.

    `install_modelport` adds modelport-runtime (what `python -m modelport.scoring` needs); an
    environment that lists `modelport` itself gets the whole package instead. Both come from
    the running installation. `resolve_nearest` (or `env.python.resolve_nearest`) replaces
    pins that cannot install on this Python with the nearest release that can.
    """
    emit = as_log(log)
    if env.python.user_managed_dependencies:
        return _user_managed(env)
    uv = find_uv()
    plan = plan_for(
        env, uv, emit, install_modelport=install_modelport, resolve_nearest=resolve_nearest
    )
    resolved, wheel = plan.resolved, plan.wheel
    key = resolved.key(
        interpreter=os.path.realpath(plan.interpreter),
        modelport=f"{wheel.name}:{wheel.key}" if wheel else None,
    )
    digest = spec_hash(
        {**key, "resolve_nearest": plan.resolve_nearest, "exclude_newer": plan.exclude_newer}
    )
    cache_root = Path(cache_root)
    if plan.refused_python:  # before the cache: the running Python's build may exist
        check_pins(plan, cache_root, env.name, uv is not None, emit)  # raises, naming all
    target = cache_root / digest
    if (target / MARKER).is_file():
        return _built(target, digest, reused=True)
    with _locked(cache_root / ".locks" / f"{digest}.lock", emit):
        if (target / MARKER).is_file():
            return _built(target, digest, reused=True)  # another process just built it
        if target.exists():
            emit(f"Removing incomplete environment folder {target}")
            shutil.rmtree(target)
        for stale in _stale_staging(cache_root, digest):  # a builder killed mid-way left it
            emit(f"Removing the staging folder of an interrupted build: {stale}")
            shutil.rmtree(stale, ignore_errors=True)
        started = time.monotonic()
        emit(f"Building environment {env.name!r} ({digest}) with {'uv' if uv else 'pip'}")
        for note in resolved.notes:
            emit(f"note: {note}")
        plan = check_pins(plan, cache_root, env.name, uv is not None, emit)
        _build_into(target, plan, uv, env.name, emit, cache_root)
        emit(f"Environment {env.name!r} ({digest}) ready in {time.monotonic() - started:.1f}s")
    return _built(target, digest, reused=False)


def plan_for(
    env: Environment,
    uv: Path | None,
    log: Log,
    *,
    install_modelport: bool = True,
    resolve_nearest: bool = False,
    python: str | None = None,
) -> BuildPlan:
    """What building `env` takes, before any pin is checked. `python` (major.minor) names the
    interpreter the result will run on elsewhere (an image's): it is resolved for, not used."""
    resolved = resolve(env)
    needs_modelport = install_modelport or resolved.wants_modelport
    wheel = None
    if resolved.wants_modelport:
        wheel = runtime.full_source()
    elif install_modelport:
        wheel = runtime.runtime_source()
    nearest = resolve_nearest or env.python.resolve_nearest
    deps = env.python.conda_dependencies
    written = deps.get_python_version() if deps is not None else None
    refused_python = None
    interpreter = _base_interpreter()
    if python is None:
        interpreter, refused_python = _choose_interpreter(
            resolved.python_version, uv, needs_modelport, log, nearest=nearest, written=written
        )
    elif resolved.python_version not in (None, python):
        why = f"the image runs Python {python}"
        wanted = tuple(int(p) for p in resolved.python_version.split("."))
        if needs_modelport and wanted < MIN_SERVICE_PYTHON:
            floor = ".".join(map(str, MIN_SERVICE_PYTHON))
            why = f"modelport's scoring server needs Python {floor}+; {why}"
        spec = f"python={written or resolved.python_version}"
        if nearest:
            log(f"resolve_nearest: {spec} -> python={python} ({why})")
        else:
            refused_python = f"{spec} cannot be used: {why}"
    return BuildPlan(
        resolved=resolved,
        interpreter=interpreter,
        wheel=wheel,
        resolve_nearest=nearest,
        exclude_newer=env.python.exclude_newer,
        refused_python=refused_python,
        target_python=python,
    )


def _built(target: Path, digest: str, *, reused: bool) -> BuiltEnvironment:
    return BuiltEnvironment(
        python=_venv_python(target), path=target, spec_hash=digest, reused=reused
    )


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _user_managed(env: Environment) -> BuiltEnvironment:
    """Nothing to build: the user manages this interpreter (default: the running one)."""
    if env.python.interpreter_path:
        python = Path(env.python.interpreter_path)
        prefix = python.parent.parent
    else:
        python, prefix = Path(sys.executable), Path(sys.prefix)
    digest = spec_hash({"user_managed": str(python)})
    return BuiltEnvironment(python=python, path=prefix, spec_hash=digest, reused=True)


# -- choosing the interpreter ---------------------------------------------------------------


def _base_interpreter() -> Path:
    """The interpreter behind the running one (not a venv's symlink), so venvs nest cleanly."""
    return Path(getattr(sys, "_base_executable", None) or sys.executable)


def _choose_interpreter(
    requested: str | None,
    uv: Path | None,
    needs_modelport: bool,
    log: Log,
    *,
    nearest: bool = False,
    written: str | None = None,
) -> tuple[Path, str | None]:
    """The requested python if it is installed here and can run the service; else the
    running one, with why the request was refused (strict) or logged as a changed pin
    (`nearest`). Refusals are raised with the other pins' (`check_pins`)."""
    current = current_python()
    if requested is None or requested == current:
        return _base_interpreter(), None
    wanted = tuple(int(p) for p in requested.split("."))
    if needs_modelport and wanted < MIN_SERVICE_PYTHON:
        why = f"modelport's scoring server needs Python {'.'.join(map(str, MIN_SERVICE_PYTHON))}+"
    else:
        found = _uv_python_find(uv, requested) if uv else None
        if found is not None:
            log(f"Using Python {requested} at {found}")
            return found, None
        why = (
            f"Python {requested} is not installed on this machine "
            "(modelport does not download interpreters)"
        )
    spec = f"python={written or requested}"
    if not nearest:
        return _base_interpreter(), f"{spec} cannot be used: {why}"
    log(
        f"resolve_nearest: {spec} -> python={platform.python_version()} (the running Python; {why})"
    )
    return _base_interpreter(), None


def _uv_python_find(uv: Path, version: str) -> Path | None:
    result = subprocess.run(
        [str(uv), "python", "find", "--no-project", version],
        capture_output=True,
        text=True,
        env=installer_env(),
        check=False,
    )
    path = result.stdout.strip()
    return Path(path) if result.returncode == 0 and path else None


# -- old pins: what installs here, and as of when to resolve -------------------------------


def check_pins(plan: BuildPlan, cache_root: Path, name: str, has_uv: bool, log: Log) -> BuildPlan:
    """Replace (or refuse) pins that cannot install here; decide the resolution cut-off.
    Refusals raise one EnvironmentBuildError naming all of them and the switch."""
    refused = [plan.refused_python] if plan.refused_python else []
    checked = _check_package_pins(plan, cache_root, has_uv, log, refused)
    if refused:
        raise EnvironmentBuildError(
            f"Environment {name!r} on Python {plan.python}: {'; '.join(refused)}.",
            hint=NEAREST_HINT,
        )
    return checked


def _check_package_pins(
    plan: BuildPlan, cache_root: Path, has_uv: bool, log: Log, refused: list[str]
) -> BuildPlan:
    resolved = plan.resolved
    if any(o.split()[0] in _INDEX_OPTIONS for o in resolved.pip_options):
        log("note: the environment names its own package index: pins are not checked on PyPI")
        return plan
    pypi = pins.PyPI(cache_root, plan.python_tuple())
    requirements = list(resolved.requirements)
    dated: list[tuple[pins.Pin, pins.Release]] = []
    try:
        for index, requirement in enumerate(requirements):
            pin = pins.exact_pin(requirement)
            if pin is None:
                continue
            releases = pypi.releases(pin.name)
            if releases and pins.unsatisfiable(pin, releases):
                found = pins.nearest(pin, releases)
                origin = resolved.origin(requirement)
                written = f"'{requirement}'" + (f" (from {origin})" if origin else "")
                instead = f"{pin.name}{pin.extras}=={found.version}" if found else None
                if not plan.resolve_nearest or instead is None:
                    near = f" (nearest that does: {found.version})" if found else ""
                    refused.append(f"{written} has no release that installs here{near}")
                    continue
                log(
                    f"resolve_nearest: {requirement} -> {instead}"
                    + (f" ({origin})" if origin else "")
                )
                requirements[index] = instead
                pin = pins.exact_pin(instead) or pin
            release = pins.release_of(pin, releases)
            if release is not None:
                dated.append((pin, release))
    except pins.Unavailable as exc:
        log(f"note: {exc}: pins are not checked and no resolution cut-off is used")
        return plan
    plan = replace(plan, resolved=replace(resolved, requirements=tuple(requirements)))
    return replace(plan, cutoff=_cutoff(plan, dated, has_uv, log))


_INDEX_OPTIONS = {"-i", "--index-url", "--extra-index-url", "--no-index", "-f", "--find-links"}


def _cutoff(
    plan: BuildPlan, dated: list[tuple[pins.Pin, pins.Release]], has_uv: bool, log: Log
) -> dt.datetime | None:
    """When to resolve unpinned dependencies as of: the environment's era, by default."""
    setting = plan.exclude_newer
    if setting is None:
        log("resolution cut-off: none (env.python.exclude_newer = None): current releases")
        return None
    if setting == AUTO:
        found = pins.cutoff_for(dated, plan.python_tuple())
        if found is None:
            log("resolution cut-off: none (no exact pins): current releases")
            return None
        when, why = found
    else:
        when = dt.datetime.fromisoformat(setting).replace(tzinfo=dt.UTC)
        why = "env.python.exclude_newer"
    if when >= dt.datetime.now(dt.UTC):
        log(f"resolution cut-off: none ({when:%Y-%m-%d} is not in the past; {why})")
        return None
    if not has_uv:
        log(f"note: the pip fallback cannot resolve as of {when:%Y-%m-%d}; current releases")
        return None
    log(
        f"resolution cut-off: {when:%Y-%m-%d} ({why}): unpinned dependencies resolve as of "
        "then; opt out with env.python.exclude_newer = None"
    )
    return when


# -- the build itself -----------------------------------------------------------------------


@contextlib.contextmanager
def _locked(path: Path, log: Log) -> Iterator[None]:
    """Hold an exclusive fcntl lock on `path` (lock files stay: deleting them races)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"Waiting for another build of the same environment ({path.stem})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def installer_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1", "UV_NO_PROGRESS": "1"})
    env.pop("VIRTUAL_ENV", None)  # never let the caller's venv leak into the build
    return env


def _stale_staging(cache_root: Path, digest: str) -> list[Path]:
    """Staging folders of `digest`'s builds; stale whenever its lock is ours (or free)."""
    staging_root = cache_root / ".tmp"
    return sorted(staging_root.glob(f"{digest}-*")) if staging_root.is_dir() else []


def reclaim_staging(cache_root: Path, dry_run: bool = False) -> tuple[int, int]:
    """(count, bytes) of staging folders left by builds that died; removed unless dry_run.
    A folder is stale only while nobody holds its environment's lock (a live build does)."""
    staging_root = cache_root / ".tmp"
    count = size = 0
    for folder in sorted(staging_root.iterdir()) if staging_root.is_dir() else []:
        digest = folder.name.split("-", 1)[0]
        lock = cache_root / ".locks" / f"{digest}.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a build is running
            try:
                count += 1
                size += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
                if not dry_run:
                    shutil.rmtree(folder, ignore_errors=True)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    return count, size


def _build_into(
    target: Path, plan: BuildPlan, uv: Path | None, name: str, log: Log, cache_root: Path
) -> None:
    """Build in a temporary sibling folder, then rename it into place."""
    wheel = None
    if plan.wheel is not None:
        wheel = runtime.installed_wheel(plan.wheel, cache_root / ".wheels", log, plan.wheel.name)
    staging_root = target.parent / ".tmp"
    staging_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=staging_root))
    try:
        if uv is not None:
            _uv_build(staging, plan, uv, name, log, wheel)
        else:
            _pip_build(staging, plan, name, log, wheel)
        _rewrite_paths(staging, target)
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the venv from the service's user
        (staging / MARKER).write_text(
            json.dumps({"name": name, "requirements": list(plan.resolved.requirements)}, indent=1)
        )
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _install_args(plan: BuildPlan, wheel: Path | None) -> list[str]:
    args = [arg for option in plan.resolved.pip_options for arg in option.split(None, 1)]
    return args + list(plan.resolved.requirements) + ([str(wheel)] if wheel else [])


def cutoff_args(plan: BuildPlan) -> list[str]:
    """uv's --exclude-newer at the cut-off; the server's plumbing stays current (the
    runtime's floors may be newer than the cut-off; the environment's own pins still hold)."""
    if plan.cutoff is None:
        return []
    args = ["--exclude-newer", plan.cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")]
    if plan.wheel is not None:
        now = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for package in runtime.PLUMBING:
            args += ["--exclude-newer-package", f"{package}={now}"]
    return args


def _uv_build(
    staging: Path, plan: BuildPlan, uv: Path, name: str, log: Log, wheel: Path | None
) -> None:
    env = installer_env()
    check_outcome(
        run([uv, "venv", "--relocatable", "--python", plan.interpreter, staging], log, env),
        plan,
        name,
        "create the virtualenv",
    )
    if not _install_args(plan, wheel):
        return
    cmd: list[str | Path] = [uv, "pip", "install", "--python", _venv_python(staging)]
    cmd += ["--link-mode", _link_mode(uv, staging, env)]
    # Services start often; with PYTHONDONTWRITEBYTECODE (common in containers) an uncompiled
    # venv would re-compile numpy, pandas and sklearn on every start (seconds each time).
    cmd += ["--compile-bytecode", *cutoff_args(plan)]
    check_outcome(
        run([*cmd, *_install_args(plan, wheel)], log, env), plan, name, "install packages"
    )


def _pip_build(staging: Path, plan: BuildPlan, name: str, log: Log, wheel: Path | None) -> None:
    env = installer_env()
    check_outcome(
        run([plan.interpreter, "-m", "venv", staging], log, env),
        plan,
        name,
        "create the virtualenv",
    )
    if not _install_args(plan, wheel):
        return
    cmd: list[str | Path] = [_venv_python(staging), "-m", "pip", "install"]
    check_outcome(
        run([*cmd, *_install_args(plan, wheel)], log, env), plan, name, "install packages"
    )


def _link_mode(uv: Path, staging: Path, env: dict[str, str]) -> str:
    """Hardlink from uv's cache when it is on the same filesystem (fast), else copy."""
    result = subprocess.run(
        [str(uv), "cache", "dir"], capture_output=True, text=True, env=env, check=False
    )
    cache = Path(result.stdout.strip()) if result.returncode == 0 else None
    try:
        same = cache is not None and cache.exists() and cache.stat().st_dev == staging.stat().st_dev
    except OSError:
        same = False
    return "hardlink" if same else "copy"


def _rewrite_paths(staging: Path, target: Path) -> None:
    """Point scripts that recorded the staging path (pip's shebangs, activate) at the target."""
    old, new = str(staging).encode(), str(target).encode()
    for script in (staging / "bin").iterdir():
        if script.is_symlink() or not script.is_file() or script.stat().st_size > 1_000_000:
            continue
        data = script.read_bytes()
        if old in data:
            script.write_bytes(data.replace(old, new))


def check_outcome(outcome: tuple[int, list[str]], plan: BuildPlan, name: str, step: str) -> None:
    code, lines = outcome
    if code == 0:
        return
    failure = explain(lines)
    raise EnvironmentBuildError(
        f"Environment {name!r}: could not {step}: {_describe(failure, plan)}",
        hint=_hint(failure, plan),
    )


def _describe(failure: Failure, plan: BuildPlan) -> str:
    requirement = _matching_requirement(failure.package, plan)
    origin = plan.resolved.origin(requirement) if requirement else None
    prefix = f"requirement '{requirement}'" if requirement else ""
    if origin:
        prefix += f" (from {origin})"
    message = failure.message.rstrip(".") + "."
    return f"{prefix} failed. {message}" if prefix else message


def _matching_requirement(package: str | None, plan: BuildPlan) -> str | None:
    """The requirement in the spec that names the failing package."""
    if not package:
        return None
    wanted = re.split(r"[\[<>=!~; ]", package.lower(), maxsplit=1)[0].replace("_", "-")
    for requirement in plan.resolved.requirements:
        if re.split(r"[\[<>=!~; @]", requirement, maxsplit=1)[0] == wanted:
            return requirement
    return None


def _hint(failure: Failure, plan: BuildPlan) -> str:
    version = "{}.{}".format(*sys.version_info[:2])
    if failure.kind == "not-found":
        return "Check the package name; conda and PyPI names can differ (e.g. pytorch -> torch)."
    if failure.kind == "no-version":
        return f"No release matches that pin on Python {version}. {NEAREST_HINT}"
    if failure.kind == "build":
        return f"The pinned version may not support Python {version} here. {NEAREST_HINT}"
    return "See the build log above for the installer's full output."
