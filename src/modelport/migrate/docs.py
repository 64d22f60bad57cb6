"""docs/migration.md, generated from the coverage table and `migration_template.md`.

`python -m modelport.migrate.docs > docs/migration.md` regenerates it; a test fails when the
file is stale, so the guide can never claim a name the table (and so the code) lacks.
"""

from __future__ import annotations

from importlib import resources

from modelport.migrate.coverage import IGNORED, SUPPORTED, UNSUPPORTED, Coverage, Member, load


def render(coverage: Coverage | None = None) -> str:
    coverage = coverage or load()
    template = resources.files("modelport.migrate").joinpath("migration_template.md")
    return template.read_text("utf-8").replace("{coverage}", _coverage(coverage)).rstrip() + "\n"


def _coverage(coverage: Coverage) -> str:
    out = [
        _totals(coverage),
        "",
        "### Modules",
        "",
        "| Azure ML v1 | modelport | status |",
        "|---|---|---|",
    ]
    for name, entry in sorted(coverage.modules.items()):
        target = f"`{entry.to}`" if entry.to and entry.status.status != UNSUPPORTED else "—"
        if not entry.rewrite:
            target += " (import kept)"
        suffix = ".*" if entry.prefix else ""
        out.append(
            f"| `{name}{suffix}` | {target} | {_cell(entry.status.status, entry.status.why)} |"
        )
    out += ["", "### Functions, constants and exceptions", "", "| name | status |", "|---|---|"]
    for key, member in sorted(coverage.names.items()):
        out.append(f"| `{key}` | {_cell(member.status.status, member.status.why)} |")
        out += [f"| `{key}({k}=)` | {_cell(s.status, s.why)} |" for k, s in member.keywords.items()]
    for key, cls in coverage.classes.items():
        where = ", ".join(f"`{m}`" for m in cls.modules) or "reached through another class"
        out += [
            "",
            f"### {key}",
            "",
            f"From {where}. {_cell(cls.status.status, cls.status.why)}",
            "",
        ]
        out += ["| name | status |", "|---|---|"]
        members = sorted(cls.attributes.values(), key=lambda m: m.name)
        members += sorted(cls.methods.values(), key=lambda m: (m.name != "()", m.name))
        for member in members:
            out += _member_rows(key, member)
    return "\n".join(out)


def _member_rows(cls: str, member: Member) -> list[str]:
    label = f"{cls}()" if member.name == "()" else f"{cls}.{member.name}"
    if member.kind == "method" and member.name != "()":
        label += "()"
    rows = [f"| `{label}` | {_cell(member.status.status, member.status.why)} |"]
    if member.status.status != UNSUPPORTED:
        base = label.removesuffix("()")
        rows += [
            f"| `{base}({k}=)` | {_cell(s.status, s.why)} |" for k, s in member.keywords.items()
        ]
    return rows


def _cell(status: str, why: str) -> str:
    text = {SUPPORTED: "supported", IGNORED: "**ignored**", UNSUPPORTED: "**unsupported**"}[status]
    return f"{text}: {why}".replace("|", "\\|") if why else text


def _totals(coverage: Coverage) -> str:
    counts = totals(coverage)
    return (
        f"{counts['names']} v1 names (modules, classes, functions, attributes, methods and "
        f"keywords): {counts[SUPPORTED]} supported, {counts[IGNORED]} ignored, "
        f"{counts[UNSUPPORTED]} unsupported."
    )


def totals(coverage: Coverage) -> dict[str, int]:
    """How many v1 names the table covers, by status."""
    statuses = [m.status.status for m in coverage.modules.values()]
    for member in coverage.names.values():
        statuses += [member.status.status, *(s.status for s in member.keywords.values())]
    for cls in coverage.classes.values():
        statuses.append(cls.status.status)
        for member in [*cls.attributes.values(), *cls.methods.values()]:
            statuses.append(member.status.status)
            if member.status.status != UNSUPPORTED:
                statuses += [s.status for s in member.keywords.values()]
    return {
        "names": len(statuses),
        **{s: statuses.count(s) for s in (SUPPORTED, IGNORED, UNSUPPORTED)},
    }


if __name__ == "__main__":
    print(render(), end="")
