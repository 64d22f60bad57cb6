"""The package's layering, checked on the real import graph (function-level imports too)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import grimp

from modelport import settings

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "modelport"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    graph = grimp.build_graph("modelport", exclude_type_checking_imports=True)
    assert len(graph.modules) > 100  # the whole package was read
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle(tmp_path: Path) -> None:
    """The check above can fail: a two-module package importing itself in a circle."""
    pkg = tmp_path / "circular"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from circular import b\n")
    (pkg / "b.py").write_text("from circular import a\n")
    sys.path.insert(0, str(tmp_path))
    try:
        graph = grimp.build_graph("circular")
    finally:
        sys.path.remove(str(tmp_path))
    assert _cycles(graph) == [["circular.a", "circular.b"]]


def test_importing_the_registry_loads_nothing_above_it() -> None:
    code = (
        "import sys, modelport.registry, modelport.registry.models, modelport.registry.runs, "
        "modelport.registry.datasets, modelport.workspace\n"
        "above = ('deploy', 'targets', 'profiling', 'packaging', 'runtimes', 'cli', 'core')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[:2][-1] in above "
        "and m.startswith('modelport.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_layer_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout and result.stdout.count("KEPT") >= 3


def test_every_modelport_variable_is_declared_and_documented() -> None:
    used: set[str] = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r"MODELPORT_[A-Z0-9_]*[A-Z0-9]", path.read_text()))
    # names built from a prefix (the registry's _USERNAME / _PASSWORD) are declared whole
    assert used - set(settings.SETTINGS) == set()
    docs = (ROOT / "docs" / "settings.md").read_text()
    assert settings.markdown_table() in docs
    for name in settings.SETTINGS:
        assert f"`{name}`" in docs


def test_modelport_variables_are_read_only_through_settings() -> None:
    direct = re.compile(r"""(environ|getenv)\s*(\.get)?\s*[\(\[]\s*f?["']MODELPORT_""")
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "settings.py" and direct.search(path.read_text())
    ]
    assert offenders == []


def test_a_bad_setting_is_a_one_line_error() -> None:
    import pytest

    from modelport.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match=r"MODELPORT_DRAIN_S='soon' is invalid"):
        settings.get("MODELPORT_DRAIN_S", {"MODELPORT_DRAIN_S": "soon"})
    assert settings.get("MODELPORT_DRAIN_S", {}) == 1.0
