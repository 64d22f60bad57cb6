"""`modelport workspace create|show`."""

from __future__ import annotations

import click

from modelport.cli._output import emit_json, emit_mapping, output_option, workspace_option


@click.group()
def workspace() -> None:
    """Create and inspect workspaces."""


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
