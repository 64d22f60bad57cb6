"""`modelport endpoint create|list|show|restart|delete|traffic|shadow-report|keys|regen-key|token` and
`modelport endpoint version add|update|delete`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from modelport.errors import InvalidArgument

if TYPE_CHECKING:
    from modelport.core.endpoint import Endpoint

_PERCENT = click.FloatRange(0, 100)


def _endpoint(workspace_path: str | None, name: str) -> Endpoint:
    from modelport.core.endpoint import Endpoint
    from modelport.core.workspace import Workspace

    return Endpoint(Workspace.get(workspace_path), name)


def _version_rows(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            v["name"],
            v["state"],
            f"{v['traffic_percentile']:g}%",
            "yes" if v["is_default"] else "",
            "yes" if v["is_control_version"] else "",
            f"{v['shadow_percentile']:g}%" if v["shadow_percentile"] else "",
            v["service"],
        )
        for v in data["versions"].values()
    ]


_VERSION_COLUMNS = ["Version", "State", "Traffic", "Default", "Control", "Shadow", "Service"]


def _show(endpoint: Endpoint, output: str) -> None:
    data = endpoint.serialize()
    if output == "json":
        emit_json(data)
        return
    emit_mapping({k: v for k, v in data.items() if k != "versions"})
    emit_table("Versions", _VERSION_COLUMNS, _version_rows(data))


@click.group()
def endpoint() -> None:
    """Endpoints: versions of a service behind one address, with traffic split and shadows."""


add_handle_commands(
    endpoint,
    _endpoint,
    "endpoint",
    {
        "restart": "Start the router and any version that is down again (after a reboot or a "
        "kill).",
        "delete": "Stop the router and every version; forget the endpoint.",
    },
)


@endpoint.command("create")
@workspace_option
@click.argument("name")
@click.option(
    "-m", "--model", "models", multiple=True, metavar="NAME:VERSION", help="Model (repeatable)."
)
@click.option(
    "--ic", "--inference-config-file", "ic_file", required=True, help="inferenceconfig.json"
)
@click.option(
    "--dc",
    "--deploy-config-file",
    "dc_file",
    default=None,
    help="The versions' deploymentconfig.json.",
)
@click.option("--version-name", default="v1", show_default=True, help="The first version's name.")
@click.option("--port", type=int, default=None, help="The endpoint's port (default: a free one).")
@click.option("--auth", "auth_enabled", is_flag=True, help="Key auth at the endpoint.")
@click.option(
    "--token-auth", "token_auth_enabled", is_flag=True, help="Token auth at the endpoint."
)
@click.option(
    "--router-workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Router processes on the endpoint's port (more req/s through it, given spare cores).",
)
@click.option(
    "--router-replicas",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Router pods (Kubernetes, cluster-ip or load-balancer compute).",
)
@click.option(
    "--router-max-replicas",
    type=click.IntRange(min=1),
    default=None,
    help="Autoscale the router pods up to this many (70% CPU; Kubernetes).",
)
@click.option("--overwrite", is_flag=True, help="Replace an endpoint of the same name.")
@output_option
def create(
    workspace_path: str | None,
    name: str,
    models: tuple[str, ...],
    ic_file: str,
    dc_file: str | None,
    version_name: str,
    port: int | None,
    auth_enabled: bool,
    token_auth_enabled: bool,
    router_workers: int,
    router_replicas: int,
    router_max_replicas: int | None,
    overwrite: bool,
    output: str,
) -> None:
    """Deploy an endpoint with its first (default) version and wait until it is Healthy.
    A --dc of an AKS deploymentconfig.json puts the versions on the attached Kubernetes
    compute, its numReplicas/autoScaler sizing each version."""
    from modelport.core.endpoint import Endpoint
    from modelport.core.model import InferenceConfig, Model
    from modelport.core.webservice import DeploymentConfig
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    config = Endpoint.deploy_configuration(
        version_name=version_name,
        port=port,
        auth_enabled=auth_enabled,
        token_auth_enabled=token_auth_enabled,
        deployment_config=DeploymentConfig.from_file(dc_file) if dc_file else None,
        router_workers=router_workers,
        router_replicas=router_replicas,
        router_max_replicas=router_max_replicas,
    )
    created = Model.deploy(
        ws,
        name,
        list(models),
        InferenceConfig.from_file(ic_file, ws),
        config,
        overwrite=overwrite,
        show_output=output != "json",
    )
    created.wait_for_deployment(show_output=output != "json")
    if output == "json":
        emit_json(created.serialize())
    else:
        click.echo(f"Endpoint '{name}' is {created.state} at {created.scoring_uri}")


@endpoint.command("list")
@workspace_option
@output_option
def list_endpoints(workspace_path: str | None, output: str) -> None:
    """Every endpoint with its state and traffic split."""
    from modelport.core.endpoint import Endpoint
    from modelport.core.workspace import Workspace

    rows = [e.serialize() for e in Endpoint.list(Workspace.get(workspace_path))]
    if output == "json":
        emit_json(rows)
        return
    emit_table(
        None,
        ["Name", "State", "Target", "Scoring URI", "Traffic"],
        (
            (
                r["name"],
                r["state"],
                r["compute_type"],
                r["scoring_uri"],
                " ".join(
                    f"{v['name']}={v['traffic_percentile']:g}" for v in r["versions"].values()
                ),
            )
            for r in rows
        ),
    )


@endpoint.command("show")
@workspace_option
@click.argument("name")
@output_option
def show(workspace_path: str | None, name: str, output: str) -> None:
    """One endpoint: state, URIs, auth and its versions."""
    _show(_endpoint(workspace_path, name), output)


@endpoint.command("follow")
@workspace_option
@click.argument("name")
@click.option("--model", "model_name", default=None, help="Follow this model's new versions.")
@click.option(
    "--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Only versions with this tag."
)
@click.option(
    "--traffic",
    "traffic_percentile",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of live traffic (percent) each new version starts with.",
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
    traffic_percentile: float,
    smoke_data: str | None,
    output: str,
) -> None:
    """Add each newly registered matching version as a new endpoint version (without
    --model: show what it follows and the last outcomes)."""
    from modelport.errors import InvalidArgument

    found = _endpoint(workspace_path, name)
    if model_name is None:
        if tags or smoke_data:
            raise InvalidArgument("--tag and --smoke-data need --model.")
        emit_follow_status(found.follow_status(), output)
        return
    pairs = key_values(tags, "tag")
    data = found.follow(model_name, pairs, traffic_percentile, smoke_data)
    if output == "json":
        emit_json(data)
        return
    click.echo(
        f"Endpoint '{name}' adds each new version of model '{model_name}'"
        + (f" with tags {pairs}" if pairs else "")
        + f" at {traffic_percentile:g}% of traffic"
        + (" behind a smoke gate" if smoke_data else "")
    )


@endpoint.command("unfollow")
@workspace_option
@click.argument("name")
def unfollow(workspace_path: str | None, name: str) -> None:
    """Stop adding new model versions automatically."""
    _endpoint(workspace_path, name).unfollow()
    click.echo(f"Endpoint '{name}' follows no model")


def _shares(pairs: tuple[str, ...]) -> dict[str, float | str]:
    shares: dict[str, float | str] = {}
    for pair in pairs:
        version, sep, value = pair.partition("=")
        if not sep or not version:
            raise InvalidArgument(
                f"{pair!r} is not VERSION=PERCENT.",
                hint="Write e.g. `v1=70 v2=30` or `v2=default`.",
            )
        if value == "default":
            shares[version] = "default"
            continue
        try:
            shares[version] = float(value)
        except ValueError:
            raise InvalidArgument(
                f"{pair!r}: {value!r} is not a percentage.", hint="Write e.g. `v1=70 v2=30`."
            ) from None
    if not shares:
        raise InvalidArgument("No traffic given.", hint="Write e.g. `v1=70 v2=30`.")
    return shares


@endpoint.command("traffic")
@workspace_option
@click.argument("name")
@click.argument("shares", nargs=-1, metavar="VERSION=PERCENT...")
@output_option
def traffic(workspace_path: str | None, name: str, shares: tuple[str, ...], output: str) -> None:
    """Set several versions' traffic in one change: `v1=70 v2=30`; `v2=default` makes v2
    the default (it takes what the others leave)."""
    found = _endpoint(workspace_path, name)
    found.set_traffic(_shares(shares))
    _show(found, output)


@endpoint.command("shadow-report")
@workspace_option
@click.argument("name")
@output_option
def shadow_report(workspace_path: str | None, name: str, output: str) -> None:
    """Shadow versions against the versions that answered: agreement, errors, latency."""
    report = _endpoint(workspace_path, name).get_shadow_report()
    if output == "json":
        emit_json(report)
        return
    if not report:
        click.echo(f"Endpoint '{name}' has no shadow traffic yet.")
        return

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    emit_table(
        None,
        [
            "Shadow",
            "Pairs",
            "Agree",
            "Primary err",
            "Shadow err",
            "Primary p50/p99 ms",
            "Shadow p50/p99 ms",
            "Dropped",
        ],
        (
            (
                version,
                r["pairs"],
                pct(r["agreement"]),
                pct(r["primary_error_rate"]),
                pct(r["shadow_error_rate"]),
                f"{ms(r['primary_ms']['p50'])} / {ms(r['primary_ms']['p99'])}",
                f"{ms(r['shadow_ms']['p50'])} / {ms(r['shadow_ms']['p99'])}",
                r["dropped"],
            )
            for version, r in report.items()
        ),
    )


@endpoint.group("version")
def version() -> None:
    """Add, update and delete an endpoint's versions."""


def _version_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "-m", "--model", "models", multiple=True, metavar="NAME:VERSION", help="Models."
            ),
            click.option("--ic", "--inference-config-file", "ic_file", default=None),
            click.option("--dc", "--deploy-config-file", "dc_file", default=None),
            click.option("--traffic", type=_PERCENT, default=None, help="Percent of live traffic."),
            click.option(
                "--default/--no-default", "is_default", default=None, help="Make it the default."
            ),
            click.option(
                "--control/--no-control", "is_control", default=None, help="The control version."
            ),
            click.option("--shadow", type=_PERCENT, default=None, help="Percent copied to it."),
            click.option("--description", default=None),
            output_option,
        ]
    ):
        func = option(func)
    return func


def _configs(ws: Any, ic_file: str | None, dc_file: str | None) -> tuple[Any, Any]:
    from modelport.core.model import InferenceConfig
    from modelport.core.webservice import DeploymentConfig

    return (
        InferenceConfig.from_file(ic_file, ws) if ic_file else None,
        DeploymentConfig.from_file(dc_file) if dc_file else None,
    )


def _change_version(method: str, workspace_path: str | None, name: str, version_name: str,
                    models: tuple[str, ...], ic_file: str | None, dc_file: str | None,
                    traffic: float | None, is_default: bool | None, is_control: bool | None,
                    shadow: float | None, description: str | None, output: str) -> None:  # fmt: skip
    found = _endpoint(workspace_path, name)
    ic, dc = _configs(found.workspace, ic_file, dc_file)
    getattr(found, method)(
        version_name,
        models=list(models) or None,
        inference_config=ic,
        deployment_config=dc,
        traffic_percentile=traffic,
        is_default=is_default,
        is_control_version_type=is_control,
        shadow_percentile=shadow,
        description=description,
        show_output=output != "json",
    )
    _show(found, output)


@version.command("add")
@workspace_option
@click.argument("name")
@click.argument("version_name")
@_version_options
def version_add(workspace_path: str | None, **options: Any) -> None:
    """Deploy a new version (the default's models and config unless given); it gets traffic
    once it is Healthy."""
    _change_version("create_version", workspace_path, **options)


@version.command("update")
@workspace_option
@click.argument("name")
@click.argument("version_name")
@_version_options
def version_update(workspace_path: str | None, **options: Any) -> None:
    """Change a version's models, config or routing; what is not given stays."""
    _change_version("update_version", workspace_path, **options)


@version.command("delete")
@workspace_option
@click.argument("name")
@click.argument("version_name")
def version_delete(workspace_path: str | None, name: str, version_name: str) -> None:
    """Stop routing to a version, let its requests finish, delete its service."""
    _endpoint(workspace_path, name).delete_version(version_name)
    click.echo(f"Deleted version '{version_name}' of endpoint '{name}'")
