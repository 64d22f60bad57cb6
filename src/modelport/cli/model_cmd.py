"""`modelport model …`, mirroring `az ml model …`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from modelport.cli._output import (
    emit_json,
    emit_mapping,
    emit_table,
    key_values,
    output_option,
    workspace_option,
)
from modelport.errors import InvalidArgument

if TYPE_CHECKING:
    from modelport.core.model import Model


def _summary(model: Model) -> dict[str, Any]:
    return {
        "id": model.id,
        "name": model.name,
        "version": model.version,
        "framework": model.model_framework,
        "description": model.description,
        "tags": model.tags,
        "properties": model.properties,
        "created": model.created_time.isoformat(timespec="seconds"),
        "files": len(model.files),
        "size": model.size,
        "run_id": model.run_id,
    }


def _show(model: Model, output: str) -> None:
    if output == "json":
        emit_json(model.serialize())
    else:
        emit_mapping(_summary(model))


@click.group()
def model() -> None:
    """Register, list, show, download, update and delete models."""


@model.command("register")
@workspace_option
@click.option("-n", "--name", required=True, help="Model name.")
@click.option("-p", "--path", "path", default=None, help="Local file or folder to register.")
@click.option("--asset-path", default=None, help="Path inside the run's files (with --run-id).")
@click.option("--experiment-name", default=None, help="Experiment of the run (with --run-id).")
@click.option("--run-id", default=None, help="Register from this training run's files.")
@click.option("-t", "--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Tag (repeatable).")
@click.option(
    "--property", "properties", multiple=True, metavar="KEY=VALUE", help="Property (repeatable)."
)
@click.option("-d", "--description", default=None)
@click.option(
    "--framework", default=None, help="Model framework, e.g. ScikitLearn, Onnx, TensorFlow."
)
@click.option("--framework-version", default=None)
@click.option("--cpu", type=float, default=None, help="Resource configuration: CPU cores.")
@click.option("--memory-in-gb", type=float, default=None, help="Resource configuration: memory.")
@click.option(
    "--follow-links",
    is_flag=True,
    help="Store what symbolic links leading outside the folder point to (refused by default).",
)
@output_option
def register(
    workspace_path: str | None,
    name: str,
    path: str | None,
    asset_path: str | None,
    experiment_name: str | None,
    run_id: str | None,
    tags: tuple[str, ...],
    properties: tuple[str, ...],
    description: str | None,
    framework: str | None,
    framework_version: str | None,
    cpu: float | None,
    memory_in_gb: float | None,
    follow_links: bool,
    output: str,
) -> None:
    """Register a file or folder (-p) or a run's output (--run-id, --asset-path) as a new version."""
    from modelport.core.model import Model
    from modelport.core.resource_configuration import ResourceConfiguration
    from modelport.core.run import Run
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    resources = (
        ResourceConfiguration(cpu=cpu, memory_in_gb=memory_in_gb)
        if cpu is not None or memory_in_gb is not None
        else None
    )
    common: dict[str, Any] = {
        "tags": key_values(tags, "tag"),
        "properties": key_values(properties, "property"),
        "description": description,
        "model_framework": framework,
        "model_framework_version": framework_version,
        "resource_configuration": resources,
    }
    if run_id is not None:
        run = Run.get(ws, run_id)
        if experiment_name is not None and run.experiment_name != experiment_name:
            raise InvalidArgument(
                f"Run {run_id} belongs to experiment '{run.experiment_name}', not '{experiment_name}'."
            )
        registered = run.register_model(name, model_path=asset_path or path, **common)
    elif path is not None or asset_path is not None:
        registered = Model.register(
            ws, path or asset_path or "", name, follow_external_links=follow_links, **common
        )
    else:
        raise InvalidArgument(
            "Nothing to register.", hint="Pass -p PATH, or --run-id RUN with --asset-path PATH."
        )
    if output == "json":
        emit_json(registered.serialize())
    else:
        click.echo(
            f"Registered {registered.id} ({len(registered.files)} files, {registered.size} bytes)"
        )


@model.command("list")
@workspace_option
@click.option("-n", "--name", default=None, help="Only this model name.")
@click.option("-t", "--tag", "tags", multiple=True, metavar="KEY[=VALUE]", help="Filter by tag.")
@click.option(
    "--property", "properties", multiple=True, metavar="KEY[=VALUE]", help="Filter by property."
)
@click.option("-l", "--latest", is_flag=True, help="Only the latest version of each model.")
@output_option
def list_models(
    workspace_path: str | None,
    name: str | None,
    tags: tuple[str, ...],
    properties: tuple[str, ...],
    latest: bool,
    output: str,
) -> None:
    """List registered models, newest first."""
    from modelport.core.model import Model
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    models = Model.list(ws, name=name, tags=list(tags), properties=list(properties), latest=latest)
    if output == "json":
        emit_json([m.serialize() for m in models])
        return
    emit_table(
        None,
        ["Name", "Version", "Framework", "Files", "Size", "Created", "Tags"],
        (
            (
                m.name,
                m.version,
                m.model_framework or "",
                len(m.files),
                _human(m.size),
                m.created_time.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                ", ".join(f"{k}={v}" for k, v in m.tags.items()),
            )
            for m in models
        ),
    )


@model.command("show")
@workspace_option
@click.argument("model_id", required=False)
@click.option("-i", "--model-id", "model_id_opt", default=None, help="NAME[:VERSION].")
@output_option
def show(
    workspace_path: str | None, model_id: str | None, model_id_opt: str | None, output: str
) -> None:
    """Show one model version (the latest when no version is given)."""
    _, found = _resolve(workspace_path, model_id or model_id_opt)
    _show(found, output)


@model.command("download")
@workspace_option
@click.option("-i", "--model-id", required=True, help="NAME[:VERSION].")
@click.option("-t", "--target-dir", default=".", show_default=True, help="Folder to download into.")
@click.option("--overwrite", "exist_ok", is_flag=True, help="Overwrite files that already exist.")
def download(workspace_path: str | None, model_id: str, target_dir: str, exist_ok: bool) -> None:
    """Download a model's files, verified against their hashes."""
    _, found = _resolve(workspace_path, model_id)
    click.echo(found.download(target_dir, exist_ok=exist_ok))


@model.command("delete")
@workspace_option
@click.argument("model_id", required=False)
@click.option("-i", "--model-id", "model_id_opt", default=None, help="NAME:VERSION.")
def delete(workspace_path: str | None, model_id: str | None, model_id_opt: str | None) -> None:
    """Delete one model version (refused while a service uses it)."""
    from modelport.core.model import parse_model_id

    text = model_id or model_id_opt
    if text is None or parse_model_id(text)[1] is None:
        raise InvalidArgument(
            "Give the exact version to delete, e.g. `modelport model delete mymodel:2`."
        )
    _, found = _resolve(workspace_path, text)
    found.delete()
    click.echo(f"Deleted {found.id}")


@model.command("update")
@workspace_option
@click.argument("model_id", required=False)
@click.option("-i", "--model-id", "model_id_opt", default=None, help="NAME[:VERSION].")
@click.option("-d", "--description", default=None)
@click.option("--add-tag", "add_tags", multiple=True, metavar="KEY=VALUE")
@click.option("--remove-tag", "remove_tags", multiple=True, metavar="KEY")
@click.option("--add-property", "add_properties", multiple=True, metavar="KEY=VALUE")
@output_option
def update(
    workspace_path: str | None,
    model_id: str | None,
    model_id_opt: str | None,
    description: str | None,
    add_tags: tuple[str, ...],
    remove_tags: tuple[str, ...],
    add_properties: tuple[str, ...],
    output: str,
) -> None:
    """Change a version's description, tags or properties."""
    _, found = _resolve(workspace_path, model_id or model_id_opt)
    new_tags = key_values(add_tags, "add-tag")
    new_props = key_values(add_properties, "add-property")
    if description is None and not (new_tags or remove_tags or new_props):
        raise InvalidArgument(
            "Nothing to update.",
            hint="Pass --description, --add-tag, --remove-tag or --add-property.",
        )
    if new_props:
        found.add_properties(new_props)
    if description is not None or new_tags or remove_tags:
        tags = {k: v for k, v in {**found.tags, **new_tags}.items() if k not in set(remove_tags)}
        found.update(tags=tags, description=description)
    _show(found, output)


@model.command("deploy")
@workspace_option
@click.option("-n", "--name", required=True, help="Service name.")
@click.option(
    "-m", "--model", "models", multiple=True, metavar="NAME:VERSION", help="Model (repeatable)."
)
@click.option(
    "--ic", "--inference-config-file", "ic_file", required=True, help="inferenceconfig.json"
)
@click.option("--dc", "--deploy-config-file", "dc_file", default=None, help="deploymentconfig.json")
@click.option(
    "--compute-target",
    default=None,
    metavar="NAME",
    help="Attached cluster to deploy to (`modelport compute list`); without --dc, v1's AKS "
    "defaults.",
)
@click.option("--overwrite", is_flag=True, help="Replace a service of the same name.")
@click.option(
    "--resolve-nearest",
    is_flag=True,
    help="Install the nearest working release for environment pins that cannot install on "
    "this Python (each change is logged).",
)
@output_option
def deploy(
    workspace_path: str | None,
    name: str,
    models: tuple[str, ...],
    ic_file: str,
    dc_file: str | None,
    compute_target: str | None,
    overwrite: bool,
    resolve_nearest: bool,
    output: str,
) -> None:
    """Deploy models as a web service and wait until it is Healthy."""
    from modelport.core.model import InferenceConfig, Model
    from modelport.core.webservice import AksWebservice, DeploymentConfig
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    dc = DeploymentConfig.from_file(dc_file) if dc_file else None
    if resolve_nearest:
        if dc is None:  # the default config of where it goes
            dc = AksWebservice.deploy_configuration() if compute_target else DeploymentConfig()
        dc.resolve_nearest = True
    service = Model.deploy(
        ws,
        name,
        list(models),
        inference_config=InferenceConfig.from_file(ic_file, ws),
        deployment_config=dc,
        deployment_target=compute_target,
        overwrite=overwrite,
        show_output=output != "json",
    )
    service.wait_for_deployment(show_output=output != "json")
    if output == "json":
        emit_json(service.serialize())
    else:
        click.echo(f"Service '{name}' is {service.state} at {service.scoring_uri}")


def _resolve(workspace_path: str | None, model_id: str | None) -> tuple[Any, Model]:
    from modelport.core.model import Model, parse_model_id
    from modelport.core.workspace import Workspace

    if not model_id:
        raise InvalidArgument("Which model? Give NAME[:VERSION].")
    name, version = parse_model_id(model_id)
    ws = Workspace.get(workspace_path)
    return ws, Model(ws, name, version=version)


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def _attach_profile() -> None:
    """`modelport model profile` (v1's `az ml model profile`) lives with the profiling commands."""
    from modelport.cli.profile_cmd import model_profile

    model.add_command(model_profile, "profile")


_attach_profile()


def _attach_package() -> None:
    """`modelport model package` (v1's `az ml model package`) lives with the packaging code."""
    from modelport.cli.package_cmd import model_package

    model.add_command(model_package, "package")


_attach_package()
