"""Python code inside `.py` files and notebooks, with magics masked and cells located.

A notebook is read as JSON and only its code cells are analysed. IPython lines (`!pip …`,
`%matplotlib …`) are blanked so line numbers stay true; a cell magic makes the whole cell
"not analysed", except `%%writefile x.py` (an entry script: analysed) and `%%time`-style
magics whose body is still Python.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.errors import InvalidArgument

SUFFIXES = (".py", ".ipynb")
_SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", ".ipynb_checkpoints", "node_modules"}
_PYTHON_CELL_MAGICS = ("%%time", "%%timeit", "%%capture")


@dataclass
class Unit:
    """One piece of Python: a whole `.py` file or one notebook cell."""

    path: str
    text: str  # as stored: what `rewrite` edits
    cell: int | None = None  # 1-based code-cell number in a notebook
    masked: str = ""  # `text` with magics blanked: what `ast` parses
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    script: bool = False  # a `%%writefile x.py` cell: a file of its own, not the kernel's


def find_files(paths: list[str]) -> list[Path]:
    """The .py/.ipynb files named or found under the folders named; a bad path is a user error."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InvalidArgument(
                f"{raw}: no such file or folder; give .py/.ipynb files or folders."
            )
        if path.is_dir():
            found += sorted(_walk(path))
        elif path.suffix in SUFFIXES:
            found.append(path)
        else:
            raise InvalidArgument(f"{raw}: not a .py or .ipynb file; migrate reads only those.")
    return list(dict.fromkeys(found))


def _walk(folder: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        out += [Path(root, f) for f in files if f.endswith(SUFFIXES)]
    return out


def read_units(path: Path) -> tuple[list[Unit], dict[str, Any] | None]:
    """The file's units, and for a notebook its parsed JSON (to write edits back into)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return [Unit(str(path), text, masked=text)], None
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(f"{path}: not a readable notebook ({exc}).") from None
    units = []
    code_cells = [c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells, start=1):
        unit = Unit(str(path), _cell_text(cell), cell=number)
        _mask(unit)
        units.append(unit)
    return units, notebook


def _cell_text(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _mask(unit: Unit) -> None:
    lines = unit.text.split("\n")
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        magic = first.split()
        is_script = magic[0] == "%%writefile" and len(magic) > 1 and magic[-1].endswith(".py")
        unit.script = is_script
        if not (is_script or magic[0] in _PYTHON_CELL_MAGICS):
            unit.skipped.append((1, f"cell magic {magic[0]}: the cell is not Python"))
            unit.masked = ""
            return
        lines[0] = ""
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(("!", "%")):
            unit.skipped.append((index + 1, f"IPython line {stripped.split()[0]}"))
            # Keep the indentation so a magic inside an `if` block still parses.
            lines[index] = line[: len(line) - len(stripped)] + "pass"
    unit.masked = "\n".join(lines)


def notebook_text(notebook: dict[str, Any], units: list[Unit], original: str) -> str:
    """The notebook JSON with the units' (edited) text, in the file's own indentation."""
    code_cells = [
        c for c in notebook["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"
    ]
    for cell, unit in zip(code_cells, units, strict=True):
        if _cell_text(cell) != unit.text:
            lines = unit.text.splitlines(keepends=True)
            cell["source"] = lines if isinstance(cell.get("source"), list) else unit.text
    text = json.dumps(notebook, indent=_indent(original), ensure_ascii=False)
    return text + "\n" if original.endswith("\n") else text


def _indent(text: str) -> int:
    """nbformat writes indent=1; keep whatever the file uses so diffs stay small."""
    for line in text.splitlines()[1:]:
        if line.strip():
            return len(line) - len(line.lstrip(" "))
    return 1


def write_atomic(path: Path, text: str) -> None:
    """Replace the file in one step: a crash leaves the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
