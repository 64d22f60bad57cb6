"""Registry webhooks (`Webhook.create(ws, ...)`), the SDK face of `modelport.events`.

modelport's own addition (Azure ML v1 had none; MLflow's registry webhooks and Azure DevOps'
model trigger are the models): a webhook gets the events it names, signed, at least once.
Creating one starts the workspace's events process if it is not running.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from modelport.events import process, webhooks
from modelport.events.signing import HEADER as SIGNATURE_HEADER
from modelport.events.signing import verify as verify_signature
from modelport.registry.events import EVENT_TYPES

if TYPE_CHECKING:
    from modelport.workspace import Workspace

__all__ = ["EVENT_TYPES", "SIGNATURE_HEADER", "Webhook", "verify_signature"]


class Webhook:
    """One webhook: `id`, `events`, `url`, `filters`; `deliveries()` is its delivery log."""

    def __init__(self, workspace: Workspace, webhook_id: str) -> None:
        self.workspace = workspace
        self._doc = webhooks.get(workspace, webhook_id)

    @classmethod
    def create(
        cls,
        workspace: Workspace,
        events: str | builtins.list[str],
        url: str,
        filters: builtins.list[str] | tuple[str, ...] = (),
        secret: str | None = None,
        description: str | None = None,
    ) -> Webhook:
        """Deliver `events` (e.g. "model.registered") matching every filter ("name=m",
        "tag:stage=prod") to `url`, signed with `secret` (generated when None: `.secret`)."""
        doc = webhooks.create(
            workspace,
            [events] if isinstance(events, str) else events,
            url,
            filters,
            secret,
            description,
        )
        process.ensure_running(workspace)
        hook = cls.__new__(cls)
        hook.workspace, hook._doc = workspace, doc
        return hook

    @classmethod
    def list(cls, workspace: Workspace) -> builtins.list[Webhook]:
        return [cls(workspace, d["id"]) for d in webhooks.list_all(workspace)]

    @property
    def id(self) -> str:
        return str(self._doc["id"])

    @property
    def events(self) -> builtins.list[str]:
        return list(self._doc["events"])

    @property
    def url(self) -> str:
        return str(self._doc["url"])

    @property
    def filters(self) -> builtins.list[str]:
        return [f"{k}={v}" for k, v in self._doc.get("filters") or []]

    @property
    def secret(self) -> str:
        return str(self._doc["secret"])

    def delete(self) -> None:
        webhooks.delete(self.workspace, self.id)

    def test(self) -> dict[str, Any]:
        """Send a signed `webhook.test` event now; what the receiver answered."""
        outcome = webhooks.send_test(self.workspace, self.id)
        return {"ok": outcome.ok, "status_code": outcome.status_code, "error": outcome.error}

    def deliveries(self, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Newest first: event id, status (pending, delivered, failed), attempts, last error."""
        rows = self.workspace.store.list_deliveries(webhooks.SUBSCRIBER + self.id, limit)
        return [_delivery_row(self.workspace, d.to_dict()) for d in rows]

    def serialize(self) -> dict[str, Any]:
        data = webhooks.public(self._doc)
        data["filters"] = self.filters
        return data

    def __repr__(self) -> str:
        return f"Webhook(id={self.id!r}, events={self.events!r}, url={self.url!r})"


def _delivery_row(workspace: Workspace, row: dict[str, Any]) -> dict[str, Any]:
    event = workspace.store.get_event(row["event_id"])
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "event": event.type,
        "status": row["status"],
        "attempts": row["attempts"],
        "last_status_code": row["last_status_code"],
        "last_error": row["last_error"],
        "next_time": row["next_time"],
        "updated_time": row["updated_time"],
    }
