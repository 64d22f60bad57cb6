"""`modelport workspace create|show|gc`."""

from __future__ import annotations

import click

from modelport.cli._output import emit_json, emit_mapping, output_option, workspace_option


@click.group()
def workspace() -> None:
    """Create, inspect and clean up workspaces."""


@workspace.command("create")
@workspace_option
@click.option("--name", default=None, help="Workspace name (default: the folder's name).")
@click.option(
    "--database-url", default=None, help="SQLAlchemy URL for the metadata (e.g. PostgreSQL)."
)
@output_option
def create(
    workspace_path: str | None, name: str | None, database_url: str | None, output: str
) -> None:
    """Create a workspace folder (default ./.modelport); does nothing if it exists."""
    from modelport.core.workspace import Workspace

    ws = Workspace.create(workspace_path, name=name, database_url=database_url)
    if output == "json":
        emit_json(ws.get_details())
    else:
        click.echo(f"Workspace '{ws.name}' ready at {ws.path}")


@workspace.command("show")
@workspace_option
@output_option
def show(workspace_path: str | None, output: str) -> None:
    """Show a workspace's name, location and stores."""
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    details = ws.get_details()
    details["models"] = len(ws.store.list_models(latest=True))
    if output == "json":
        emit_json(details)
    else:
        emit_mapping(details)


@workspace.command("gc")
@workspace_option
@click.option("--dry-run", is_flag=True, help="Report what would be freed; remove nothing.")
@output_option
def gc(workspace_path: str | None, dry_run: bool, output: str) -> None:
    """Free disk nothing uses: orphan blobs, temporary files of dead writers, cached copies
    of deleted model versions. Safe while other processes register models."""
    from modelport.core.gc import collect
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    items = collect(ws, dry_run=dry_run)
    total = {"count": sum(i.count for i in items), "bytes": sum(i.bytes for i in items)}
    if output == "json":
        emit_json({"dry_run": dry_run, "categories": [i.to_dict() for i in items], "total": total})
        return
    verb = "would free" if dry_run else "freed"
    for item in items:
        click.echo(f"{item.category}: {item.count} ({_size(item.bytes)})")
    click.echo(f"total: {total['count']} items, {verb} {_size(total['bytes'])}")


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    raise AssertionError("unreachable")
