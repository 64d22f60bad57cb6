"""`modelport migrate check|apply`: port Azure ML v1 code by changing its imports."""

from __future__ import annotations

import sys

import click

from modelport.cli._output import emit_json, emit_table, output_option

_PATHS = click.argument("paths", nargs=-1, required=True, metavar="PATH...")


@click.group()
def migrate() -> None:
    """Check and port Azure ML SDK v1 code (.py and .ipynb; read, never run)."""


@migrate.command("check")
@_PATHS
@output_option
@click.option("--plain", is_flag=True, help="One `file:line: status name (why)` line per use.")
def check(paths: tuple[str, ...], output: str, plain: bool) -> None:
    """Report every azureml name used: supported, ignored (and why) or unsupported.

    Exits 1 when something is unsupported, 0 otherwise.
    """
    from modelport.migrate.report import check as run_check

    report = run_check(list(paths))
    if output == "json":
        emit_json(report.to_dict())
    elif plain:
        for use in report.uses:
            why = f" ({use.why})" if use.why else ""
            click.echo(f"{use.location}: {use.status} {use.name}{why}")
        for skip in report.not_analysed:
            cell = "" if skip["cell"] is None else f"cell {skip['cell']}:"
            click.echo(f"{skip['path']}:{cell}{skip['line']}: not analysed ({skip['why']})")
    else:
        rows = [(u.location, u.status, u.name, u.why) for u in report.uses]
        rows += [
            (
                f"{s['path']}:{'' if s['cell'] is None else 'cell ' + str(s['cell']) + ':'}{s['line']}",
                "not analysed",
                "",
                s["why"],
            )
            for s in report.not_analysed
        ]
        emit_table(None, ["Where", "Status", "Name", "Why"], rows)
    if output != "json":
        click.echo(report.summary())
    if not report.ok:
        sys.exit(1)  # click's Exit would be swallowed by standalone_mode=False


@migrate.command("apply")
@_PATHS
@click.option("--dry-run", is_flag=True, help="Print a unified diff; write nothing.")
def apply(paths: tuple[str, ...], dry_run: bool) -> None:
    """Rewrite azureml imports to modelport in place (only the import lines change)."""
    from modelport.migrate.report import apply as run_apply

    changes = run_apply(list(paths), dry_run=dry_run)
    for change in changes:
        if dry_run and change.changed:
            click.echo(change.diff(), nl=False)
        for cell, kept in change.kept:
            where = f"{change.path}:{'' if cell is None else f'cell {cell}:'}{kept.line}"
            click.echo(f"{where}: kept {kept.module} ({kept.why})", err=True)
    changed = [c for c in changes if c.changed]
    verb = "would rewrite" if dry_run else "rewrote"
    edits = sum(c.edits for c in changed)
    click.echo(f"{verb} {edits} module names in {len(changed)} of {len(changes)} files")
