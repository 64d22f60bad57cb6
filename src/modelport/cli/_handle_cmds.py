"""The commands `service` and `endpoint` share (restart, delete, keys, regen-key, token):
written once over a function that finds the handle, so both groups answer alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from modelport.cli._output import emit_json, emit_mapping, output_option, workspace_option

Find = Callable[[str | None, str], Any]  # (workspace path, name) -> Webservice or Endpoint


def add_handle_commands(group: click.Group, find: Find, noun: str, docs: dict[str, str]) -> None:
    """Add the shared commands to `group`; `docs` gives each command's help text."""

    @group.command("restart", help=docs["restart"])
    @workspace_option
    @click.argument("name")
    def restart(workspace_path: str | None, name: str) -> None:
        found = find(workspace_path, name)
        found.restart()
        click.echo(f"{noun.capitalize()} '{name}': {found.state} at {found.scoring_uri}")

    @group.command("delete", help=docs["delete"])
    @workspace_option
    @click.argument("name")
    def delete(workspace_path: str | None, name: str) -> None:
        find(workspace_path, name).delete()
        click.echo(f"Deleted {noun} '{name}'")

    @group.command("keys", help=f"The {noun}'s primary and secondary keys (key auth).")
    @workspace_option
    @click.argument("name")
    @output_option
    def keys(workspace_path: str | None, name: str, output: str) -> None:
        primary, secondary = find(workspace_path, name).get_keys()
        data: dict[str, Any] = {"primaryKey": primary, "secondaryKey": secondary}
        emit_json(data) if output == "json" else emit_mapping(data)

    @group.command("regen-key", help="Replace a key; the old one is rejected at once.")
    @workspace_option
    @click.argument("name")
    @click.option(
        "--key", type=click.Choice(["Primary", "Secondary"], case_sensitive=False), required=True
    )
    def regen_key(workspace_path: str | None, name: str, key: str) -> None:
        find(workspace_path, name).regen_key(key)
        click.echo(f"Regenerated the {key.lower()} key of '{name}'")

    @group.command(
        "token", help=f"Issue a bearer token for the {noun} (token auth); when to refresh it."
    )
    @workspace_option
    @click.argument("name")
    @output_option
    def token(workspace_path: str | None, name: str, output: str) -> None:
        value, refresh_after = find(workspace_path, name).get_token()
        data = {"accessToken": value, "refreshAfter": refresh_after.isoformat()}
        emit_json(data) if output == "json" else emit_mapping(data)
