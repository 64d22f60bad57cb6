"""Lock an environment: the exact versions (with hashes) a local build of it installs.

Images cannot run modelport's pin checks, its `resolve_nearest` switch or its resolution
cut-off: an image's pip would resolve the environment again, against today's index, and could
install other versions than the local service (or fail another way). So packaging resolves
here, through the same plan and checks as `build.build_environment` (strict pins refused with
the same message, nearest releases logged, the same `--exclude-newer`), compiles the result
with `uv pip compile --generate-hashes`, and the image installs exactly that file with
`--no-deps --require-hashes`.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._process import Log, find_uv, run
from .build import check_outcome, check_pins, cutoff_args, installer_env, plan_for
from .spec import Environment

LOCK_HEADER = (
    "# modelport lock: "  # first line of a lock file; the Dockerfile installs it --no-deps
)
# A requirement an index serves by name (no URL, path or VCS): only those have index hashes.
_BY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*([<>=!~][^@]*)?(;.*)?$")


@dataclass(frozen=True)
class EnvironmentLock:
    """requirements.in (what was asked, after the pin checks) and requirements.txt (the lock)."""

    inputs: tuple[str, ...]  # pip options, then requirements
    text: str  # the compiled lock: a header, the pip options, `name==version` (+ hashes)
    hashed: bool

    def versions(self) -> dict[str, str]:
        """{normalised name: version} of every locked package."""
        found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)", self.text, re.M)
        return {re.sub(r"[-_.]+", "-", n).lower(): v for n, v in found}


def lock_environment(
    env: Environment,
    cache_root: Path,
    log: Log,
    *,
    extra: Sequence[str] = (),
    resolve_nearest: bool = False,
    python: str | None = None,
) -> EnvironmentLock | None:
    """Resolve `env` (plus `extra` requirements, e.g. modelport's runtime dependencies) the
    way a local build does, and compile the lock. `python` is the major.minor the lock is for
    (an image's; default: the Python a local build would use). None without uv (the pip
    fallback cannot compile a lock: the image then resolves by itself, as noted)."""
    uv = find_uv()
    if uv is None:
        log("note: uv is not installed: the image's pip resolves the environment by itself")
        return None
    plan = plan_for(env, uv, log, resolve_nearest=resolve_nearest, python=python)
    plan = check_pins(plan, cache_root, env.name, True, log)  # raises as a local build does
    options = tuple(plan.resolved.pip_options)
    inputs = (*options, *plan.resolved.requirements, *extra)
    requirements = [*plan.resolved.requirements, *extra]
    hashed = all(_BY_NAME.match(r) for r in requirements)
    with tempfile.TemporaryDirectory(prefix="modelport-lock-") as folder:
        source, output = Path(folder) / "requirements.in", Path(folder) / "requirements.txt"
        source.write_text("".join(f"{line}\n" for line in inputs))
        cmd: list[str | Path] = [uv, "pip", "compile", "--python", plan.interpreter]
        if python is not None:
            cmd += ["--python-version", python]
        cmd += ["--no-header", "--no-annotate", "--quiet", *cutoff_args(plan)]
        cmd += ["--generate-hashes"] if hashed else []
        outcome = run([*cmd, source, "--output-file", output], log, installer_env())
        check_outcome(outcome, plan, env.name, "resolve packages")
        compiled = output.read_text()
    cutoff = f"resolved as of {plan.cutoff:%Y-%m-%d}" if plan.cutoff else "current releases"
    header = f"{LOCK_HEADER}Python {plan.python}, {cutoff}; {'' if hashed else 'no '}hashes\n"
    text = header + "".join(f"{o}\n" for o in options) + compiled
    lock = EnvironmentLock(inputs=inputs, text=text, hashed=hashed)
    log(f"lock: {len(lock.versions())} package(s) pinned for Python {plan.python} ({cutoff})")
    return lock
