"""The workspace's event log and events process, for the CLI and notebooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelport.events import process, triggers, webhooks
from modelport.events.dispatcher import CURSOR

if TYPE_CHECKING:
    from modelport.workspace import Workspace

__all__ = ["list_events", "serve", "status", "stop"]


def list_events(
    workspace: Workspace, after: int = 0, limit: int = 100, types: list[str] | None = None
) -> list[dict[str, Any]]:
    """Events with id > `after`, oldest first."""
    return [e.to_dict() for e in workspace.store.read_events(after, limit, types or ())]


def serve(workspace: Workspace) -> None:
    """Run the events process in the foreground (until Ctrl-C or SIGTERM)."""
    process.serve(workspace)


def status(workspace: Workspace, start: bool = True) -> dict[str, Any]:
    """Process, cursor and queue; with `start`, a dead process with work to do restarts."""
    store = workspace.store
    hooks, follows = webhooks.list_all(workspace), triggers.list_all(workspace)
    info = process.running(workspace)
    if info is None and start and (hooks or follows):
        info = process.ensure_running(workspace)
    return {
        "running": info is not None,
        "pid": info["pid"] if info else None,
        "last_event": store.last_event_id(),
        "cursor": store.get_cursor(CURSOR),
        "webhooks": len(hooks),
        "triggers": len(follows),
        "pending_webhook_deliveries": len(store.due_deliveries(webhooks.SUBSCRIBER, 1e18, 10_000)),
        "pending_trigger_deliveries": len(store.due_deliveries(triggers.SUBSCRIBER, 1e18, 10_000)),
        "log": str(process.folder(workspace) / "events.log"),
    }


def stop(workspace: Workspace) -> int | None:
    """Stop the background events process; its pid, or None if none ran."""
    return process.stop(workspace)
