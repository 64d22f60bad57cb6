"""`modelport k8s render`: a service's Kubernetes objects as YAML files (GitOps)."""

from __future__ import annotations

import click

from modelport.cli._output import workspace_option


@click.group("k8s")
def k8s() -> None:
    """Kubernetes manifests of services, for your own tools (kubectl, Argo CD, Flux)."""


@k8s.command("render")
@workspace_option
@click.option("-n", "--name", default="service", show_default=True, help="Service name.")
@click.option(
    "-m", "--model", "models", multiple=True, metavar="NAME:VERSION", help="Model (repeatable)."
)
@click.option(
    "--ic", "--inference-config-file", "ic_file", default=None, help="inferenceconfig.json."
)
@click.option(
    "--dc",
    "--deployment-config-file",
    "dc_file",
    default=None,
    help="deploymentconfig.json (AKS keys).",
)
@click.option(
    "-o",
    "--output-dir",
    required=True,
    metavar="DIR",
    help="New or empty folder for the YAML files.",
)
@click.option(
    "--image",
    default=None,
    metavar="REF",
    help="Image to run [default: build and push to the workspace registry].",
)
@click.option(
    "--exposure",
    type=click.Choice(["load-balancer", "cluster-ip", "host-network"]),
    default="load-balancer",
    show_default=True,
    help="How clients reach it: a LoadBalancer Service, a ClusterIP Service (your Ingress), or the node's network.",
)
@click.option(
    "--compute",
    default=None,
    metavar="NAME",
    help="Use the API versions this attached cluster serves.",
)
def render(
    workspace_path: str | None,
    name: str,
    models: tuple[str, ...],
    ic_file: str | None,
    dc_file: str | None,
    output_dir: str,
    image: str | None,
    exposure: str,
    compute: str | None,
) -> None:
    """Write the Secret, Deployment, Service, PodDisruptionBudget and autoscaler of a service."""
    from modelport.core.kubernetes import render_manifests
    from modelport.core.model import InferenceConfig
    from modelport.core.webservice import DeploymentConfig
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    ic = InferenceConfig.from_file(ic_file, ws) if ic_file else None
    dc = DeploymentConfig.from_file(dc_file) if dc_file else None
    for path in render_manifests(
        ws, name, list(models), ic, dc, output_dir, image, exposure, compute
    ):
        click.echo(str(path))
