"""`modelport environment register|list|show|build`."""

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
from modelport.errors import InvalidArgument


@click.group()
def environment() -> None:
    """Register, list, show and build environments (what a service has installed)."""


@environment.command("register")
@workspace_option
@click.option("-n", "--name", required=True, help="Environment name.")
@click.option("--conda-file", default=None, help="A conda specification (YAML).")
@click.option("--pip-requirements", default=None, help="A pip requirements file.")
@output_option
def register(
    workspace_path: str | None,
    name: str,
    conda_file: str | None,
    pip_requirements: str | None,
    output: str,
) -> None:
    """Register a new version from a conda file or a pip requirements file."""
    from modelport.core.environment import Environment
    from modelport.core.workspace import Workspace

    if (conda_file is None) == (pip_requirements is None):
        raise InvalidArgument("Give exactly one of --conda-file or --pip-requirements.")
    env = (
        Environment.from_conda_specification(name, conda_file)
        if conda_file is not None
        else Environment.from_pip_requirements(name, str(pip_requirements))
    )
    env.register(Workspace.get(workspace_path))
    if output == "json":
        emit_json(env.to_dict())
    else:
        click.echo(f"Registered environment {name}:{env.version}")


@environment.command("list")
@workspace_option
@output_option
def list_environments(workspace_path: str | None, output: str) -> None:
    """Every registered version, newest first per name."""
    from modelport.core.workspace import Workspace

    rows = Workspace.get(workspace_path).store.list_environments()
    if output == "json":
        emit_json([{"name": n, "version": v, **spec} for n, v, spec in rows])
        return
    emit_table(
        None,
        ["Name", "Version", "Pip packages"],
        ((n, v, ", ".join(_pip_packages(spec))) for n, v, spec in rows),
    )


def _pip_packages(spec: dict[str, Any]) -> list[str]:
    deps = (spec.get("python") or {}).get("conda_dependencies") or {}
    return list(deps.get("pip_packages") or [])


@environment.command("show")
@workspace_option
@click.argument("name")
@output_option
def show(workspace_path: str | None, name: str, output: str) -> None:
    """One environment: NAME or NAME:VERSION (curated `AzureML-…` names too)."""
    from modelport.core.environment import Environment
    from modelport.core.workspace import Workspace

    env_name, _, version = name.partition(":")
    env = Environment.get(Workspace.get(workspace_path), env_name, version or None)
    deps = env.python.conda_dependencies
    data = {
        "name": env.name,
        "version": env.version,
        "pip_packages": deps.pip_packages if deps is not None else [],
        "conda_packages": deps.conda_packages if deps is not None else [],
        "user_managed": env.python.user_managed_dependencies,
        "environment_variables": env.environment_variables,
    }
    emit_json(data) if output == "json" else emit_mapping(data)


@environment.command("build")
@workspace_option
@click.argument("name")
def build(workspace_path: str | None, name: str) -> None:
    """Build (or reuse) the environment's virtualenv now, streaming the installer's output."""
    from modelport.core.environment import Environment
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    env_name, _, version = name.partition(":")
    built = Environment.get(ws, env_name, version or None).build_local(ws, log=click.echo)
    click.echo(f"{'Reused' if built.reused else 'Built'} {built.path}")
