"""`modelport model package` (v1's `az ml model package`), attached to the `model` group by
`model_cmd`: writes a Docker build context (Dockerfile mode) into a new or empty folder."""

from __future__ import annotations

from pathlib import Path

import click

from modelport.cli._output import emit_json, output_option, workspace_option


@click.command("package")
@workspace_option
@click.option(
    "-m", "--model", "models", multiple=True, metavar="NAME:VERSION", help="Model (repeatable)."
)
@click.option(
    "--ic",
    "--inference-config-file",
    "ic_file",
    default=None,
    help="inferenceconfig.json (omit for a no-code model registered with a framework).",
)
@click.option(
    "--output-dir",
    required=True,
    metavar="DIR",
    help="New or empty folder for the Dockerfile and its build context.",
)
@click.option("--image-name", default=None, help="Image name [default: package].")
@click.option("--image-label", default=None, help="Image tag [default: a UTC timestamp].")
@output_option
def model_package(
    workspace_path: str | None,
    models: tuple[str, ...],
    ic_file: str | None,
    output_dir: str,
    image_name: str | None,
    image_label: str | None,
    output: str,
) -> None:
    """Write a Dockerfile, the app, the models and a modelport wheel to build an image from."""
    from modelport.core.model import InferenceConfig, Model, ModelPackage
    from modelport.core.workspace import Workspace

    target = Path(output_dir).resolve()
    ModelPackage.check_output_directory(
        target
    )  # before any work: a full folder must not cost a package
    ws = Workspace.get(workspace_path)
    package = Model.package(
        ws,
        list(models),
        InferenceConfig.from_file(ic_file, ws) if ic_file else None,
        generate_dockerfile=True,
        image_name=image_name,
        image_label=image_label,
    )
    package.wait_for_creation()
    saved = package.save(target)
    if output == "json":
        emit_json({**package.serialize(), "saved_to": saved})
        return
    image = f"{package.image_name}:{package.image_label}"
    click.echo(f"Package {package.id}: build context saved to {saved}")
    click.echo(f"Build: docker build --tag {image} {saved}")
    click.echo(f"Run:   docker run -p 6789:5001 {image}   (then POST to :6789/score)")
