"""`modelport workspace create|show|gc|set-registry|show-registry|clear-registry`."""

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


@workspace.command("set-registry")
@workspace_option
@click.argument("address")
@click.option("--username", default=None, help="The registry user (with --password-stdin).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (one line), as `docker login` does.",
)
def set_registry(
    workspace_path: str | None, address: str, username: str | None, password_stdin: bool
) -> None:
    """Name the container registry `model package` pushes to (host[:port][/namespace]).
    The credentials are stored owner-only (0600) in the workspace, like service keys."""
    from modelport.core.workspace import Workspace
    from modelport.errors import InvalidArgument

    if password_stdin and username is None:
        raise InvalidArgument("--password-stdin needs --username.")
    if username is not None and not password_stdin:
        raise InvalidArgument(
            "--username needs the password on standard input.",
            hint='echo "$PASSWORD" | modelport workspace set-registry ADDRESS '
            "--username USER --password-stdin",
        )
    password = _read_password() if password_stdin else None
    ws = Workspace.get(workspace_path)
    ws.set_container_registry(address, username, password)
    who = f" as {username}" if username else " without credentials"
    click.echo(f"Workspace '{ws.name}' pushes images to {address.rstrip('/')}{who}")


@workspace.command("show-registry")
@workspace_option
@output_option
def show_registry(workspace_path: str | None, output: str) -> None:
    """Show the workspace's container registry (the password is never shown)."""
    from modelport.core.workspace import Workspace

    registry = Workspace.get(workspace_path).get_container_registry()
    details = {
        "address": registry.address,
        "username": registry.username,
        "password": "***" if registry.password else None,
    }
    if output == "json":
        emit_json(details)
    elif registry.address is None:
        click.echo("No container registry: images stay in the local engine.")
    else:
        emit_mapping(details)


@workspace.command("clear-registry")
@workspace_option
def clear_registry(workspace_path: str | None) -> None:
    """Forget the workspace's container registry and its credentials."""
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    ws.set_container_registry(None)
    click.echo(f"Workspace '{ws.name}' has no container registry now.")


def _read_password() -> str:
    import sys

    from modelport.errors import InvalidArgument

    stream = sys.stdin
    if stream is None or stream.isatty():
        raise InvalidArgument(
            "--password-stdin reads the password from a pipe, not a terminal.",
            hint='echo "$PASSWORD" | modelport workspace set-registry ... --password-stdin',
        )
    password = stream.readline().rstrip("\r\n")
    if not password:
        raise InvalidArgument("--password-stdin read an empty password.")
    return password


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    raise AssertionError("unreachable")
