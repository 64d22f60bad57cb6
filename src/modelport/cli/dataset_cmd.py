"""`modelport dataset register|list|show|delete`: request datasets for profiling."""

from __future__ import annotations

import click

from modelport.cli._output import (
    emit_json,
    emit_mapping,
    emit_table,
    output_option,
    workspace_option,
)


@click.group()
def dataset() -> None:
    """Register and list request datasets (one request body per line, or per file)."""


@dataset.command("register")
@workspace_option
@click.option("-n", "--name", required=True, help="Dataset name.")
@click.option("-p", "--path", required=True, help="Text file (one request per line) or folder.")
@click.option("-d", "--description", default=None)
@output_option
def register(
    workspace_path: str | None, name: str, path: str, description: str | None, output: str
) -> None:
    """Register a new version of a dataset."""
    from modelport.core.dataset import Dataset
    from modelport.core.workspace import Workspace

    found = Dataset.register(Workspace.get(workspace_path), name, path, description=description)
    if output == "json":
        emit_json(found.serialize())
    else:
        click.echo(f"Registered dataset {found.id} ({len(found.files)} file(s))")


@dataset.command("list")
@workspace_option
@output_option
def list_datasets(workspace_path: str | None, output: str) -> None:
    """The latest version of every dataset."""
    from modelport.core.dataset import Dataset
    from modelport.core.workspace import Workspace

    rows = [d.serialize() for d in Dataset.list(Workspace.get(workspace_path))]
    if output == "json":
        emit_json(rows)
        return
    emit_table(
        None,
        ["Name", "Version", "Format", "Files", "Size"],
        ((r["name"], r["version"], r["format"], len(r["files"]), r["size"]) for r in rows),
    )


@dataset.command("show")
@workspace_option
@click.argument("dataset_id")
@output_option
def show(workspace_path: str | None, dataset_id: str, output: str) -> None:
    """One version: NAME or NAME:VERSION."""
    from modelport.core.dataset import Dataset
    from modelport.core.workspace import Workspace

    data = Dataset.get(Workspace.get(workspace_path), dataset_id).serialize()
    if output == "json":
        emit_json(data)
    else:
        emit_mapping({**data, "files": [f["path"] for f in data["files"]]})


@dataset.command("delete")
@workspace_option
@click.argument("dataset_id")
def delete(workspace_path: str | None, dataset_id: str) -> None:
    """Delete one version: NAME:VERSION."""
    from modelport.core.dataset import Dataset
    from modelport.core.workspace import Workspace
    from modelport.errors import InvalidArgument

    if ":" not in dataset_id:
        raise InvalidArgument("Give the exact version to delete, e.g. `mydata:2`.")
    found = Dataset.get(Workspace.get(workspace_path), dataset_id)
    found.delete()
    click.echo(f"Deleted dataset {found.id}")
