"""`modelport events serve|status|stop|list`: the workspace's event log and events process."""

from __future__ import annotations

import json
import time

import click

from modelport.cli._output import (
    emit_json,
    emit_mapping,
    emit_table,
    open_workspace,
    output_option,
    workspace_option,
)


@click.group()
def events() -> None:
    """The registry's event log and the process that delivers webhooks and applies triggers."""


@events.command("serve")
@workspace_option
def serve(workspace_path: str | None) -> None:
    """Run the events process in the foreground (Ctrl-C stops it)."""
    from modelport.core import events as sdk

    sdk.serve(open_workspace(workspace_path))


@events.command("status")
@workspace_option
@output_option
def status(workspace_path: str | None, output: str) -> None:
    """Whether the events process runs (restarted if dead with work to do), cursor, queue."""
    from modelport.core import events as sdk

    data = sdk.status(open_workspace(workspace_path))
    emit_json(data) if output == "json" else emit_mapping(data)


@events.command("stop")
@workspace_option
def stop(workspace_path: str | None) -> None:
    """Stop the background events process (webhooks and triggers wait until it runs again)."""
    from modelport.core import events as sdk

    pid = sdk.stop(open_workspace(workspace_path))
    click.echo(f"Stopped the events process (pid {pid})" if pid else "No events process runs.")


@events.command("list")
@workspace_option
@click.option("--after", type=int, default=0, help="Only events with a larger id.")
@click.option("-n", "--limit", type=int, default=100, show_default=True)
@click.option("--type", "types", multiple=True, help="Only these event types (repeatable).")
@output_option
def list_events(
    workspace_path: str | None, after: int, limit: int, types: tuple[str, ...], output: str
) -> None:
    """The event log, oldest first."""
    from modelport.core import events as sdk

    rows = sdk.list_events(open_workspace(workspace_path), after, limit, list(types))
    if output == "json":
        emit_json(rows)
        return
    emit_table(
        None,
        ["Id", "Time", "Type", "Payload"],
        (
            (
                r["id"],
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["time"])),
                r["type"],
                json.dumps(r["payload"], sort_keys=True)[:120],
            )
            for r in rows
        ),
    )
