"""Static analysis: every Azure ML v1 name a piece of Python uses, with its coverage status.

Tracked: `import azureml.x [as y]`, `from azureml.x import A [as B]`, attribute chains from
those names (`aml.core.Model.register`), keywords of calls to known callables, and the type of
plain variables assigned from a known constructor, method or attribute (`service =
Model.deploy(...)`, `for m in Model.list(ws)`, `with exp.start_logging() as run`). Scope is the
whole file in source order; anything else (function arguments, containers, `getattr`, star
imports, values returned by your own functions) is not followed.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass

from modelport.migrate.coverage import (
    SUPPORTED,
    UNSUPPORTED,
    ClassEntry,
    Coverage,
    Member,
    Status,
)
from modelport.migrate.sources import Unit


@dataclass(frozen=True)
class Use:
    """One use of a v1 name at one place."""

    path: str
    cell: int | None
    line: int
    kind: str  # module, class, function, attribute, method, keyword
    name: str
    status: str
    why: str

    @property
    def location(self) -> str:
        cell = "" if self.cell is None else f"cell {self.cell}:"
        return f"{self.path}:{cell}{self.line}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# What a name is bound to: ("module", dotted) / ("class", key) / ("instance", key) /
# ("list", key) / ("function", dotted) / ("unknown", "") for v1 names the table lacks.
Binding = tuple[str, str]
_UNKNOWN: Binding = ("unknown", "")


class Analyzer(ast.NodeVisitor):
    def __init__(self, coverage: Coverage, unit: Unit) -> None:
        self.coverage = coverage
        self.unit = unit
        self.env: dict[str, Binding] = {}
        self.uses: list[Use] = []
        self.in_service = False

    # -- reporting ------------------------------------------------------------------------
    def report(self, node: ast.AST, kind: str, name: str, status: Status) -> None:
        line = getattr(node, "lineno", 0)
        self.uses.append(
            Use(self.unit.path, self.unit.cell, line, kind, name, status.status, status.why)
        )

    # -- imports --------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not _is_v1(alias.name):
                self._shadow(alias.asname or alias.name.split(".")[0])
                continue
            self._report_module(node, alias.name)
            if alias.asname:
                self.env[alias.asname] = ("module", alias.name)
            else:
                self.env["azureml"] = ("module", "azureml")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or not _is_v1(module):
            for alias in node.names:
                self._shadow(alias.asname or alias.name)
            return
        entry = self._report_module(node, module)
        for alias in node.names:
            if alias.name == "*":
                continue
            bound = self._lookup(node, module, alias.name, entry_status=entry)
            self.env[alias.asname or alias.name] = bound

    def _report_module(self, node: ast.AST, module: str) -> Status:
        if module == "azureml":
            return Status(SUPPORTED)
        entry = self.coverage.module(module)
        status = (
            entry.status if entry else Status(UNSUPPORTED, f"{module} is not covered by modelport")
        )
        self.report(node, "module", module, status)
        return status

    def _lookup(self, node: ast.AST, module: str, name: str, entry_status: Status) -> Binding:
        """Report and bind `name` taken from v1 `module` (by import or attribute access)."""
        dotted = f"{module}.{name}"
        if self._is_module(dotted):
            self._report_module(node, dotted)
            return ("module", dotted)
        found = self.coverage.exported(module, name)
        if isinstance(found, ClassEntry):
            self.report(node, "class", name, found.status)
            return ("class", found.name)
        if isinstance(found, Member):
            self.report(node, "function", dotted, found.status)
            return ("function", dotted)
        if entry_status.status == UNSUPPORTED:
            why = f"{module} is not supported" + (
                f" ({entry_status.why})" if entry_status.why else ""
            )
        else:
            why = f"modelport has no {name} in {module} (not in the coverage table)"
        self.report(node, "name", dotted, Status(UNSUPPORTED, why))
        return _UNKNOWN

    def _is_module(self, dotted: str) -> bool:
        if dotted in self.coverage.modules:
            return True
        return any(key.startswith(dotted + ".") for key in self.coverage.modules)

    def _shadow(self, name: str) -> None:
        self.env.pop(name, None)

    # -- statements that bind names -------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        bound = self.evaluate(node.value)
        for target in node.targets:
            self._bind(target, bound)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        bound = self.evaluate(node.value) if node.value else None
        self._bind(node.target, bound)

    def visit_For(self, node: ast.For) -> None:
        bound = self.evaluate(node.iter)
        element = ("instance", bound[1]) if bound and bound[0] == "list" else None
        self._bind(node.target, element)
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            bound = self.evaluate(item.context_expr)
            if item.optional_vars is not None:
                self._bind(item.optional_vars, bound)
        for stmt in node.body:
            self.visit(stmt)

    def _bind(self, target: ast.expr, bound: Binding | None) -> None:
        if isinstance(target, ast.Name):
            if bound is None or bound == _UNKNOWN:
                self._shadow(target.id)
            else:
                self.env[target.id] = bound
        elif isinstance(target, ast.Attribute):
            self.evaluate(target)  # `env.python.conda_dependencies = …` is a use
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._bind(element, None)
        else:
            self.evaluate(target)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            self._shadow(arg.arg)  # a parameter hides an outer v1 name of the same spelling
        for deco in node.decorator_list:
            self.evaluate(deco)
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncFunctionDef = visit_FunctionDef

    def generic_visit(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.evaluate(child)
            else:
                self.visit(child)

    # -- expressions ----------------------------------------------------------------------
    def evaluate(self, node: ast.expr) -> Binding | None:
        """Report the v1 uses inside an expression; return what it evaluates to, if known."""
        if isinstance(node, ast.Name):
            return self.env.get(node.id)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.evaluate(child)
            elif isinstance(child, ast.comprehension):
                self.evaluate(child.iter)
                for cond in child.ifs:
                    self.evaluate(cond)
        return None

    def _attribute(self, node: ast.Attribute) -> Binding | None:
        base = self.evaluate(node.value)
        if base is None or base == _UNKNOWN:
            return base
        kind, key = base
        if kind == "module":
            entry = self.coverage.module(key)
            status = entry.status if entry else Status(UNSUPPORTED, f"{key} is not covered")
            return self._lookup(node, key, node.attr, entry_status=status)
        if kind not in ("class", "instance") or node.attr.startswith("_"):
            return None
        member = self.coverage.member(key, node.attr, in_service=self.in_service)
        if member is None:
            why = f"{key} in modelport has no {node.attr} (not in the coverage table)"
            self.report(node, "attribute", f"{key}.{node.attr}", Status(UNSUPPORTED, why))
            return _UNKNOWN
        self.report(node, member.kind, f"{key}.{node.attr}", member.status)
        if member.kind == "attribute":
            return _returned(member.returns)
        return ("member", f"{key}.{node.attr}")

    def _call(self, node: ast.Call) -> Binding | None:
        callee = self.evaluate(node.func)
        for arg in node.args:
            self.evaluate(arg)
        for keyword in node.keywords:
            self.evaluate(keyword.value)
        member, label, result = self._callable(callee)
        if member is None:
            return result
        if member.status.status != UNSUPPORTED:
            for keyword in node.keywords:
                if keyword.arg is not None:
                    self._keyword(keyword, member, label)
        return result

    def _callable(self, callee: Binding | None) -> tuple[Member | None, str, Binding | None]:
        """The table entry of what is called, how to name it, and what the call returns."""
        if callee is None or callee == _UNKNOWN:
            return None, "", callee
        kind, key = callee
        if kind == "class":
            return self.coverage.classes[key].constructor, key, ("instance", key)
        if kind == "function":
            return self.coverage.names[key], key.rsplit(".", 1)[-1], None
        if kind == "member":
            cls_key, name = key.split(".", 1)
            member = self.coverage.member(cls_key, name, in_service=self.in_service)
            return member, key, _returned(member.returns if member else None)
        return None, "", None

    def _keyword(self, keyword: ast.keyword, member: Member, label: str) -> None:
        status = member.keywords.get(keyword.arg or "")
        if status is None:
            why = f"{label} takes no keyword {keyword.arg} in modelport (not in the coverage table)"
            status = Status(UNSUPPORTED, why)
        self.report(keyword, "keyword", f"{label}({keyword.arg}=)", status)


def _returned(returns: str | None) -> Binding | None:
    if not returns:
        return None
    if returns.startswith("["):
        return ("list", returns.strip("[]"))
    return ("instance", returns)


def _is_v1(module: str) -> bool:
    return module == "azureml" or module.startswith("azureml.")


def analyze_units(coverage: Coverage, units: list[Unit]) -> list[Use]:
    """The uses in a file's units. Notebook cells share one namespace, as in the kernel; a
    `%%writefile` cell is a file of its own. A unit that does not parse goes to `skipped`."""
    uses: list[Use] = []
    shared: dict[str, Binding] = {}
    for unit in units:
        try:
            tree = ast.parse(unit.masked, filename=unit.path)
        except SyntaxError as exc:
            unit.skipped.append((exc.lineno or 1, f"not valid Python: {exc.msg}"))
            continue
        analyzer = Analyzer(coverage, unit)
        if not unit.script:
            analyzer.env = shared
        analyzer.in_service = is_entry_script(tree)
        analyzer.visit(tree)
        uses += analyzer.uses
    return uses


def is_entry_script(tree: ast.Module) -> bool:
    """A v1 entry script defines init() and run() at module level; it runs inside a service."""
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    return {"init", "run"} <= names
