"""`migrate apply`: point v1 imports at modelport, editing only the module names in place.

Edits are token spans, so comments, spacing, aliases and the order of names stay as written.
`import azureml.core` without `as` binds the name `azureml`: it becomes `import modelport.core`
and every `azureml.core.…` use in the file is renamed with it, unless some use of `azureml`
falls outside the rewritten modules (`azureml.train.…`, `azureml` alone), which would then be
unbound; that import is left and reported. `from azureml import core` becomes `from modelport
import core`. Left alone, and reported: imports of unsupported modules, and entry scripts
(module-level init() and run()), whose azureml imports already resolve inside a modelport
service.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass

from modelport.migrate.analyze import is_entry_script
from modelport.migrate.coverage import Coverage
from modelport.migrate.sources import Unit


@dataclass(frozen=True)
class Edit:
    line: int  # 1-based, within the unit
    start: int  # column span of the dotted module name
    end: int
    old: str
    new: str


@dataclass(frozen=True)
class Kept:
    """An azureml import `apply` leaves as it is, and why."""

    line: int
    module: str
    why: str


def plan(coverage: Coverage, unit: Unit) -> tuple[list[Edit], list[Kept]]:
    """The edits that port the unit's imports, and the v1 imports left unchanged."""
    try:
        tree = ast.parse(unit.masked)
    except SyntaxError:
        return [], []
    spans = _dotted_spans(unit.masked)
    edits: list[Edit] = []
    kept: list[Kept] = []
    bare: list[tuple[ast.stmt, str, str]] = []  # `import azureml.x` (binds `azureml`)
    entry_script = is_entry_script(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [(node.module, True)]
        elif isinstance(node, ast.Import):
            modules = [(alias.name, alias.asname is not None) for alias in node.names]
        else:
            continue
        for module, rebind_safe in modules:
            if not (module == "azureml" or module.startswith("azureml.")):
                continue
            target = coverage.target_module(module)
            entry = coverage.module(module)
            if entry_script:
                why = "entry script: resolves inside a modelport service as it is"
                kept.append(Kept(node.lineno, module, why))
            elif isinstance(node, ast.ImportFrom) and module == "azureml":
                refused = _from_azureml_refused(coverage, node)
                if refused:
                    kept.append(Kept(node.lineno, module, refused))
                else:
                    edits += _edit_for(spans, node, module, "modelport")
            elif target is None:
                why = entry.status.why if entry else "not covered by modelport"
                kept.append(Kept(node.lineno, module, why or "kept"))
            elif not rebind_safe:
                bare.append((node, module, target))
            else:
                edits += _edit_for(spans, node, module, target)
    if bare:
        found_edits, found_kept = _rename_bare(tree, spans, bare)
        edits += found_edits
        kept += found_kept
    return sorted(edits, key=lambda e: (e.line, e.start)), sorted(kept, key=lambda k: k.line)


def _from_azureml_refused(coverage: Coverage, node: ast.ImportFrom) -> str | None:
    """`from azureml import core, widgets` becomes `from modelport import …` when every name
    is a module that ports to the same name under modelport; else why it stays."""
    for alias in node.names:
        module = f"azureml.{alias.name}"
        if coverage.target_module(module) != f"modelport.{alias.name}":
            return f"`from azureml import {alias.name}`: {module} has no modelport module"
    return None


def _rename_bare(
    tree: ast.Module,
    spans: dict[int, list[tuple[int, int, str]]],
    bare: list[tuple[ast.stmt, str, str]],
) -> tuple[list[Edit], list[Kept]]:
    """Rewrite `import azureml.core` and rename its uses (`azureml.core.Workspace`), or keep
    them all when some use of the name `azureml` is not under a rewritten module."""
    renamed = sorted({(m, t) for _, m, t in bare}, key=lambda mt: -len(mt[0]))
    uses: list[Edit] = []
    outside: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id == "azureml"):
            continue
        dotted = _dotted_at(spans, node.lineno, node.col_offset)
        match = next(
            (mt for mt in renamed if dotted == mt[0] or dotted.startswith(mt[0] + ".")), None
        )
        if match is None:
            outside.append((node.lineno, dotted or "azureml"))
            continue
        module, target = match
        uses.append(
            Edit(node.lineno, node.col_offset, node.col_offset + len(module), module, target)
        )
    if outside:
        line, what = outside[0]
        why = (
            f"`azureml` is also used as `{what}` (line {line}), which modelport does not "
            f"replace; write `import {bare[0][2]}` and update the uses by hand"
        )
        return [], [Kept(node.lineno, module, why) for node, module, _ in bare]
    edits = [e for node, module, target in bare for e in _edit_for(spans, node, module, target)]
    return edits + uses, []


def _dotted_at(spans: dict[int, list[tuple[int, int, str]]], line: int, column: int) -> str:
    """The dotted name that starts at (line, column), as written there ("" if split)."""
    return next((text for start, _end, text in spans.get(line, []) if start == column), "")


def _edit_for(
    spans: dict[int, list[tuple[int, int, str]]], node: ast.stmt, module: str, target: str
) -> list[Edit]:
    """The span of `module` inside this statement (which may continue over several lines)."""
    end_line = node.end_lineno or node.lineno
    for line in range(node.lineno, end_line + 1):
        for start, end, text in spans.get(line, []):
            if text == module:
                return [Edit(line, start, end, module, target)]
    return []  # the name is split over lines by a backslash: leave it


def _dotted_spans(source: str) -> dict[int, list[tuple[int, int, str]]]:
    """Every run of NAME(.NAME)* tokens on one line: (start, end, text), by line."""
    spans: dict[int, list[tuple[int, int, str]]] = {}
    current: list[tokenize.TokenInfo] = []

    def flush() -> None:
        while current and current[-1].string == ".":
            current.pop()
        if current:
            text = "".join(t.string for t in current)
            spans.setdefault(current[0].start[0], []).append(
                (current[0].start[1], current[-1].end[1], text)
            )
        current.clear()

    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        joined = bool(current) and token.start == current[-1].end
        is_part = token.type == tokenize.NAME or (token.type == tokenize.OP and token.string == ".")
        if is_part and (joined or (not current and token.type == tokenize.NAME)):
            current.append(token)
            continue
        flush()
        if token.type == tokenize.NAME:
            current.append(token)
    flush()
    return spans


def apply_edits(text: str, edits: list[Edit]) -> str:
    """`text` with the edits made, right to left on each line so columns stay valid."""
    lines = text.split("\n")
    for edit in sorted(edits, key=lambda e: (e.line, e.start), reverse=True):
        line = lines[edit.line - 1]
        if line[edit.start : edit.end] == edit.old:  # the masked and real lines agree
            lines[edit.line - 1] = line[: edit.start] + edit.new + line[edit.end :]
    return "\n".join(lines)
