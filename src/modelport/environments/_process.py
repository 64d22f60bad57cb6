"""Run installer commands with their output streamed line by line, and explain failures.

uv and pip print long resolver stories; users need the one line that says which requirement
failed, so that line is pulled out here and quoted in the error.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

Log = Callable[[str], None]
_KEEP_LINES = 2000
# Runs the installer (and the build backends it starts) in a process group of its own that is
# killed when the process that started it dies (Linux PDEATHSIG on this small wrapper): a deploy
# killed mid-build leaves nothing building for nobody. A wrapper rather than preexec_fn, which
# is unsafe in the threaded processes (profiles) that build environments.
_DIE_WITH_PARENT = """
import ctypes, os, signal, subprocess, sys
parent = os.getppid()
try:
    ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)
except (OSError, AttributeError):
    pass
child = subprocess.Popen(sys.argv[1:], start_new_session=True)

def stop(*_):
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os._exit(143)

signal.signal(signal.SIGTERM, stop)
if os.getppid() != parent:  # the parent died before PDEATHSIG was armed
    stop()
sys.exit(child.wait())
"""


def as_log(log: Log | TextIO) -> Log:
    """Accept a callable or a text stream (the service log) and return a line writer."""
    write = getattr(log, "write", None)
    if write is None:
        return log  # type: ignore[return-value]
    stream: TextIO = log  # type: ignore[assignment]

    def emit(line: str) -> None:
        stream.write(line + "\n")
        stream.flush()

    return emit


_uv_lock = threading.Lock()


@functools.cache
def _find_uv() -> Path | None:
    try:
        from uv import find_uv_bin

        return Path(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        return Path(found) if found else None


def find_uv() -> Path | None:
    """The uv binary from the `uv` package, else one on PATH, else None (fall back to pip)."""
    # find_uv_bin reads sysconfig, whose first use is not thread-safe: look it up once.
    with _uv_lock:
        return _find_uv()


def run(cmd: Sequence[str | Path], log: Log, env: dict[str, str]) -> tuple[int, list[str]]:
    """Run a command, sending each output line to `log`; return its exit code and output."""
    lines: deque[str] = deque(maxlen=_KEEP_LINES)
    with subprocess.Popen(
        [sys.executable, "-c", _DIE_WITH_PARENT, *(str(c) for c in cmd)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        env=env,
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            log(line)
            lines.append(line)
        code = proc.wait()
    return code, list(lines)


@dataclass(frozen=True)
class Failure:
    """What an installer's output says went wrong."""

    message: str  # one line, quoting the installer
    package: str | None  # the project or requirement that failed, when it can be told
    kind: str  # "not-found", "no-version", "build", "conflict" or "other"


_NOT_FOUND = [
    re.compile(r"Because (\S+) was not found in the package registry"),
    re.compile(r"No matching distribution found for (\S+)"),
]
_NO_VERSION = [
    re.compile(r"Because there (?:is|are) no versions? of (\S+?)(?:\s+and|,|$)"),
    re.compile(r"Could not find a version that satisfies the requirement (\S+)"),
]
_BUILD = [
    re.compile(r"Failed to (?:build|download and build) `([^`]+)`"),
    re.compile(r"Failed building wheel for (\S+)"),
    re.compile(r"Getting requirements to build wheel did not run successfully"),
]


def explain(lines: Sequence[str]) -> Failure:
    """Find the line that explains an install failure in uv's (or pip's) output."""
    text = [line.strip() for line in lines if line.strip()]
    for line in text:
        for pattern in _NOT_FOUND:
            if found := pattern.search(line):
                name = found.group(1).strip("`'\"")
                return Failure(
                    f"No solution found: '{name}' not found on the package index", name, "not-found"
                )
    for line in text:
        for pattern in _BUILD:
            if found := pattern.search(line):
                name = found.group(1) if found.groups() else None
                return Failure(_strip(line), name, "build")
    for line in text:
        for pattern in _NO_VERSION:
            if found := pattern.search(line):
                return Failure(_strip(line), found.group(1).strip("`'\""), "no-version")
    errors = [line for line in text if line.lower().startswith(("error", "cause", "because"))]
    if errors:
        kind = "conflict" if any("unsatisfiable" in e for e in errors) else "other"
        return Failure(" ".join(_strip(e) for e in errors[:3]), None, kind)
    return Failure(text[-1] if text else "the installer failed without output", None, "other")


def _strip(line: str) -> str:
    return re.sub(r"^(error|ERROR|cause|Caused by):\s*", "", line)
