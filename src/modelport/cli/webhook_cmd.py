"""`modelport webhook create|list|delete|test|deliveries`: registry webhooks."""

from __future__ import annotations

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
def webhook() -> None:
    """Call a URL, signed, when models or services change (see docs/events.md)."""


@webhook.command("create")
@workspace_option
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    metavar="TYPE",
    help="model.registered, model.deleted, model.tags_changed, service.state_changed, "
    "endpoint.traffic_changed, trigger.completed (repeatable).",
)
@click.option("--url", required=True, help="The receiver's http(s) URL.")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="KEY=VALUE",
    help="Only events whose payload matches: name=NAME, tag:KEY=VALUE, state=Healthy (repeatable).",
)
@click.option(
    "--secret", default=None, help="Signing secret (default: a generated one, shown once)."
)
@click.option("--description", default=None)
@output_option
def create(
    workspace_path: str | None,
    events: tuple[str, ...],
    url: str,
    filters: tuple[str, ...],
    secret: str | None,
    description: str | None,
    output: str,
) -> None:
    """Create a webhook; starts the workspace's events process if it is not running."""
    from modelport.core.webhook import Webhook

    hook = Webhook.create(
        open_workspace(workspace_path), list(events), url, filters, secret, description
    )
    data = {**hook.serialize(), "secret": hook.secret}
    if output == "json":
        emit_json(data)
        return
    emit_mapping(data)
    if secret is None:
        click.echo("Keep the secret: receivers verify signatures with it; it is not shown again.")


@webhook.command("list")
@workspace_option
@output_option
def list_webhooks(workspace_path: str | None, output: str) -> None:
    """Every webhook (secrets not shown)."""
    from modelport.core.webhook import Webhook

    rows = [h.serialize() for h in Webhook.list(open_workspace(workspace_path))]
    if output == "json":
        emit_json(rows)
        return
    emit_table(
        None,
        ["Id", "Events", "URL", "Filters"],
        ((r["id"], ", ".join(r["events"]), r["url"], ", ".join(r["filters"])) for r in rows),
    )


@webhook.command("delete")
@workspace_option
@click.argument("webhook_id")
def delete(workspace_path: str | None, webhook_id: str) -> None:
    """Delete a webhook; its pending deliveries are dropped."""
    from modelport.core.webhook import Webhook

    Webhook(open_workspace(workspace_path), webhook_id).delete()
    click.echo(f"Deleted webhook {webhook_id}")


@webhook.command("test")
@workspace_option
@click.argument("webhook_id")
def test(workspace_path: str | None, webhook_id: str) -> None:
    """Send a signed webhook.test event now and show what the receiver answered."""
    from modelport.core.webhook import Webhook
    from modelport.errors import ModelportError

    result = Webhook(open_workspace(workspace_path), webhook_id).test()
    if not result["ok"]:
        raise ModelportError(
            f"The receiver did not accept the test event: {result['error']}",
            hint="Check the URL and that the receiver answers 2xx.",
        )
    click.echo(f"Delivered: HTTP {result['status_code']}")


@webhook.command("deliveries")
@workspace_option
@click.argument("webhook_id")
@click.option("-n", "--limit", type=int, default=50, show_default=True)
@output_option
def deliveries(workspace_path: str | None, webhook_id: str, limit: int, output: str) -> None:
    """The delivery log, newest first: status, attempts, last error."""
    from modelport.core.webhook import Webhook

    rows = Webhook(open_workspace(workspace_path), webhook_id).deliveries(limit)
    if output == "json":
        emit_json(rows)
        return
    emit_table(
        None,
        ["Delivery", "Event", "Type", "Status", "Attempts", "Last error", "Updated"],
        (
            (
                r["id"],
                r["event_id"],
                r["event"],
                r["status"],
                r["attempts"],
                r["last_error"] or "",
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["updated_time"])),
            )
            for r in rows
        ),
    )
