"""`modelport compute attach|list|show|detach`: the clusters services deploy to."""

from __future__ import annotations

from typing import Any

import click

from modelport.cli._output import (
    emit_json,
    emit_mapping,
    emit_table,
    output_option,
    workspace_option,
)


@click.group()
def compute() -> None:
    """Attach, list, inspect and detach Kubernetes clusters (v1: compute targets)."""


@compute.command("attach")
@workspace_option
@click.argument("name")
@click.option(
    "--kubeconfig",
    default=None,
    metavar="FILE",
    help="kubeconfig file [default: $KUBECONFIG, else ~/.kube/config].",
)
@click.option("--context", default=None, help="Context in it [default: its current context].")
@click.option("--namespace", default="default", show_default=True, help="Namespace of services.")
@click.option(
    "--exposure",
    type=click.Choice(["load-balancer", "cluster-ip", "host-network"]),
    default=None,
    help="How clients reach services [default: load-balancer].",
)
@click.option(
    "--image-transfer",
    type=click.Choice(["registry", "containerd"]),
    default=None,
    help="How images reach the nodes [default: registry].",
)
@click.option("--node-address", default=None, help="host-network: the node's address.")
@click.option("--pull-registry", default=None, help="The registry's address as nodes see it.")
@click.option("--containerd-socket", default=None, help="containerd: the node's socket.")
@click.option("--public-url", default=None, help="cluster-ip: the Ingress URL of services.")
@click.option(
    "--shared-storage/--no-shared-storage",
    default=None,
    help="Every node mounts this machine's workspace and data folders at the same paths "
    "(batch shards may run there) [default: only a host-network compute on 127.0.0.1].",
)
@output_option
def attach(
    workspace_path: str | None,
    name: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str,
    output: str,
    **options: Any,
) -> None:
    """Record a cluster under NAME (the kubeconfig is checked; the cluster is not changed)."""
    from modelport.core.compute import ComputeTarget, KubernetesCompute
    from modelport.core.workspace import Workspace

    config = KubernetesCompute.attach_configuration(kubeconfig, context, namespace, **options)
    found = ComputeTarget.attach(Workspace.get(workspace_path), name, config)
    if output == "json":
        emit_json(found.serialize())
    else:
        click.echo(
            f"Attached '{name}': context '{found.context}' of {found.kubeconfig}, "
            f"namespace '{found.namespace}'."
        )


@compute.command("list")
@workspace_option
@output_option
def list_computes(workspace_path: str | None, output: str) -> None:
    """Every attached compute (no cluster is contacted; `show` checks one)."""
    from modelport.core.compute import ComputeTarget
    from modelport.core.workspace import Workspace

    rows = [c.serialize() for c in ComputeTarget.list(Workspace.get(workspace_path))]
    if output == "json":
        emit_json(rows)
        return
    emit_table(
        None,
        ["Name", "Type", "Context", "Namespace", "Server"],
        ((r["name"], r["type"], r["context"], r["namespace"], r["server"]) for r in rows),
    )


@compute.command("show")
@workspace_option
@click.argument("name")
@output_option
def show(workspace_path: str | None, name: str, output: str) -> None:
    """One compute with its status, checked now (Succeeded when the cluster answers)."""
    from modelport.core.compute import ComputeTarget
    from modelport.core.workspace import Workspace

    found = ComputeTarget(Workspace.get(workspace_path), name)
    found.refresh_state()
    data = found.serialize()
    emit_json(data) if output == "json" else emit_mapping(data)


@compute.command("detach")
@workspace_option
@click.argument("name")
def detach(workspace_path: str | None, name: str) -> None:
    """Forget a compute (refused while services run on it); the cluster keeps running."""
    from modelport.core.compute import ComputeTarget
    from modelport.core.workspace import Workspace

    ComputeTarget(Workspace.get(workspace_path), name).detach()
    click.echo(f"Detached '{name}'.")
