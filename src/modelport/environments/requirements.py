"""Read pip requirements files the way pip does, for `Environment.from_pip_requirements`.

Supports comments, line continuations, `-r`/`--requirement` includes (relative to the including
file) and the index options uv understands. Anything else pip-specific is refused with the file
and line, rather than silently dropped.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from modelport.errors import InvalidArgument, NotFound

# Options passed through to the installer, with whether they take a value.
PIP_OPTIONS: dict[str, bool] = {
    "-i": True,
    "--index-url": True,
    "--extra-index-url": True,
    "-f": True,
    "--find-links": True,
    "--pre": False,
    "--no-index": False,
}


@dataclass
class Requirements:
    """What a requirements file asks for: requirement strings and installer options."""

    packages: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


def read_requirements(path: str | Path) -> Requirements:
    """Parse a pip requirements file, following `-r` includes."""
    result = Requirements()
    _read(Path(path), result, seen=set())
    return result


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations and strip comments, keeping the first line number."""
    lines: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buffer:
            start = number
        line = raw.split(" #", 1)[0].split("\t#", 1)[0]
        if line.lstrip().startswith("#"):
            line = ""
        if line.endswith("\\"):
            buffer += line[:-1]
            continue
        buffer += line
        if buffer.strip():
            lines.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        lines.append((start, buffer.strip()))
    return lines


def _read(path: Path, result: Requirements, seen: set[Path]) -> None:
    resolved = path.resolve()
    if resolved in seen:
        return  # pip also tolerates include cycles by reading each file once
    seen.add(resolved)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"Requirements file not found: {path}") from None
    for number, line in _logical_lines(text):
        if not line.startswith("-"):
            result.packages.append(line)
            continue
        where = f"{path}:{number}"
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise InvalidArgument(f"{where}: cannot parse {line!r}: {exc}") from None
        option, _, inline = words[0].partition("=")
        values = ([inline] if inline else []) + words[1:]
        if option in ("-r", "--requirement"):
            if not values:
                raise InvalidArgument(f"{where}: {option} needs a file name")
            _read(path.parent / values[0], result, seen)
        elif option in PIP_OPTIONS:
            takes_value = PIP_OPTIONS[option]
            if takes_value and not values:
                raise InvalidArgument(f"{where}: {option} needs a value")
            result.options.append(f"{option} {values[0]}" if takes_value else option)
        else:
            raise InvalidArgument(
                f"{where}: pip option {option!r} is not supported in modelport environments.",
                hint="Use plain requirements, -r includes, or index options "
                "(--index-url, --extra-index-url, --find-links, --pre).",
            )
