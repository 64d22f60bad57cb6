"""`modelport service list|show|logs|update|restart|delete|keys|regen-key|token|follow|unfollow`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from modelport.cli._handle_cmds import add_handle_commands
from modelport.cli._output import (
    emit_follow_status,
    emit_json,
    emit_mapping,
    emit_table,
    key_values,
    output_option,
    workspace_option,
)

if TYPE_CHECKING:
    from modelport.core.webservice import Webservice


def _service(workspace_path: str | None, name: str) -> Webservice:
    from modelport.core.webservice import Webservice
    from modelport.core.workspace import Workspace

    return Webservice(Workspace.get(workspace_path), name)


@click.group()
def service() -> None:
    """List, inspect, update, restart and delete deployed services."""


add_handle_commands(
    service,
    _service,
    "service",
    {
        "restart": "Start a stopped or crashed service again.",
        "delete": "Stop the service, free its port and forget it.",
    },
)


@service.command("list")
@workspace_option
@output_option
def list_services(workspace_path: str | None, output: str) -> None:
    """Every service with its live state."""
    from modelport.core.webservice import Webservice
    from modelport.core.workspace import Workspace

    rows = [s.serialize() for s in Webservice.list(Workspace.get(workspace_path))]
    if output == "json":
        emit_json(rows)
        return
    emit_table(
        None,
        ["Name", "State", "Target", "Models", "Scoring URI", "Revision"],
        (
            (
                r["name"],
                r["state"],
                r["compute_type"],
                ", ".join(r["models"]),
                r["scoring_uri"],
                r["revision"],
            )
            for r in rows
        ),
    )


@service.command("show")
@workspace_option
@click.argument("name")
@output_option
def show(workspace_path: str | None, name: str, output: str) -> None:
    """One service's state, URIs, models and auth."""
    data = _service(workspace_path, name).serialize()
    emit_json(data) if output == "json" else emit_mapping(data)


@service.command("logs")
@workspace_option
@click.argument("name")
@click.option("-n", "--num-lines", type=int, default=200, show_default=True)
def logs(workspace_path: str | None, name: str, num_lines: int) -> None:
    """The tail of the service's log (deploy steps, environment build, server output)."""
    click.echo(_service(workspace_path, name).get_logs(num_lines=num_lines))


@service.command("update")
@workspace_option
@click.argument("name")
@click.option(
    "-m", "--model", "models", multiple=True, metavar="NAME:VERSION", help="Replace the models."
)
@click.option(
    "--ic", "--inference-config-file", "ic_file", default=None, help="inferenceconfig.json"
)
@click.option("--dc", "--deploy-config-file", "dc_file", default=None, help="deploymentconfig.json")
def update(
    workspace_path: str | None,
    name: str,
    models: tuple[str, ...],
    ic_file: str | None,
    dc_file: str | None,
) -> None:
    """Roll out a new revision with no dropped requests."""
    from modelport.core.model import InferenceConfig
    from modelport.core.webservice import DeploymentConfig

    svc = _service(workspace_path, name)
    svc.update(
        models=list(models) or None,
        inference_config=InferenceConfig.from_file(ic_file, svc.workspace) if ic_file else None,
        deployment_config=DeploymentConfig.from_file(dc_file) if dc_file else None,
        show_output=True,
    )
    click.echo(f"Service '{name}' updated: {svc.state} at {svc.scoring_uri}")


@service.command("follow")
@workspace_option
@click.argument("name")
@click.option("--model", "model_name", default=None, help="Follow this model's new versions.")
@click.option(
    "--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Only versions with this tag."
)
@click.option(
    "--smoke-data",
    default=None,
    type=click.Path(dir_okay=False),
    help="JSON request body, list of bodies or JSON lines that must score with 200 first.",
)
@output_option
def follow(
    workspace_path: str | None,
    name: str,
    model_name: str | None,
    tags: tuple[str, ...],
    smoke_data: str | None,
    output: str,
) -> None:
    """Roll the service to each newly registered matching version (without --model: show
    what it follows and the last outcomes)."""
    from modelport.errors import InvalidArgument

    svc = _service(workspace_path, name)
    if model_name is None:
        if tags or smoke_data:
            raise InvalidArgument("--tag and --smoke-data need --model.")
        emit_follow_status(svc.follow_status(), output)
        return
    pairs = key_values(tags, "tag")
    data = svc.follow(model_name, tags=pairs, smoke_data=smoke_data)
    if output == "json":
        emit_json(data)
        return
    click.echo(
        f"Service '{name}' follows model '{model_name}'"
        + (f" with tags {pairs}" if pairs else "")
        + (" behind a smoke gate" if smoke_data else "")
    )


@service.command("unfollow")
@workspace_option
@click.argument("name")
def unfollow(workspace_path: str | None, name: str) -> None:
    """Stop taking new model versions automatically."""
    _service(workspace_path, name).unfollow()
    click.echo(f"Service '{name}' follows no model")
