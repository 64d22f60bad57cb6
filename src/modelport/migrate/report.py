"""`check` and `apply` over files: uses, summaries, diffs and the JSON shape scripts read."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.migrate.analyze import Use, analyze_units
from modelport.migrate.coverage import IGNORED, SUPPORTED, UNSUPPORTED, Coverage, load
from modelport.migrate.rewrite import Kept, apply_edits, plan
from modelport.migrate.sources import Unit, find_files, notebook_text, read_units, write_atomic


@dataclass
class CheckReport:
    files: list[str]
    uses: list[Use]
    not_analysed: list[dict[str, Any]]

    def counts(self) -> dict[str, int]:
        return {
            "uses": len(self.uses),
            SUPPORTED: sum(u.status == SUPPORTED for u in self.uses),
            IGNORED: sum(u.status == IGNORED for u in self.uses),
            UNSUPPORTED: sum(u.status == UNSUPPORTED for u in self.uses),
            "not_analysed": len(self.not_analysed),
        }

    def summary(self) -> str:
        c = self.counts()
        line = (
            f"{c['uses']} uses, {c[SUPPORTED]} supported, {c[IGNORED]} ignored, "
            f"{c[UNSUPPORTED]} unsupported"
        )
        if c["not_analysed"]:
            line += f" ({c['not_analysed']} lines or cells not analysed)"
        return line

    @property
    def ok(self) -> bool:
        return not any(u.status == UNSUPPORTED for u in self.uses)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "uses": [u.to_dict() for u in self.uses],
            "not_analysed": self.not_analysed,
            "summary": self.counts(),
        }


def check(paths: list[str], coverage: Coverage | None = None) -> CheckReport:
    """Analyse every .py/.ipynb under `paths` (nothing is executed)."""
    coverage = coverage or load()
    files = find_files(paths)
    uses: list[Use] = []
    skipped: list[dict[str, Any]] = []
    for path in files:
        units, _ = read_units(path)
        uses += analyze_units(coverage, units)
        for unit in units:
            skipped += [_skip(unit, line, why) for line, why in unit.skipped]
    return CheckReport([str(p) for p in files], uses, skipped)


def _skip(unit: Unit, line: int, why: str) -> dict[str, Any]:
    return {"path": unit.path, "cell": unit.cell, "line": line, "why": why}


@dataclass
class FileChange:
    path: str
    before: str
    after: str
    edits: int
    kept: list[tuple[int | None, Kept]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=self.path,
                tofile=self.path,
            )
        )


def apply(paths: list[str], *, dry_run: bool, coverage: Coverage | None = None) -> list[FileChange]:
    """Rewrite the v1 imports of every file under `paths`; with dry_run nothing is written."""
    coverage = coverage or load()
    changes = []
    for path in find_files(paths):
        change = _port(path, coverage)
        if change.changed and not dry_run:
            write_atomic(path, change.after)
        changes.append(change)
    return changes


def _port(path: Path, coverage: Coverage) -> FileChange:
    before = path.read_text(encoding="utf-8")
    units, notebook = read_units(path)
    count = 0
    kept: list[tuple[int | None, Kept]] = []
    for unit in units:
        edits, left = plan(coverage, unit)
        unit.text = apply_edits(unit.text, edits)
        count += len(edits)
        kept += [(unit.cell, k) for k in left]
    if notebook is None:
        after = units[0].text
    else:
        after = notebook_text(notebook, units, before) if count else before
    return FileChange(str(path), before, after, count, kept)
