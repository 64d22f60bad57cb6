"""A service's deploy log on this machine: append a line, read on from an offset, tail.

Targets keep the control plane's own lines (build steps, failures) in a file beside the
service, whatever runs it; `read_from` returns whole lines only, for streaming.
"""

from __future__ import annotations

from pathlib import Path


def append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line.rstrip("\n") + "\n")


def read_from(path: Path, offset: int) -> tuple[str, int]:
    """Complete lines written since `offset`, and the offset after them."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return "", offset
    complete = chunk[: chunk.rfind(b"\n") + 1]
    return complete.decode(errors="replace"), offset + len(complete)


def tail(path: Path, num_lines: int) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join(lines[-num_lines:])
