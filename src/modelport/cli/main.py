"""Entry point of the `modelport` command.

Sub-command groups live in their own modules and are imported only when invoked, so
`modelport --help` stays fast (no SQLAlchemy, numpy or uvicorn at start-up).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from modelport._version import __version__

# command name -> "module:attribute"; each module holds one click command or group.
_COMMANDS: dict[str, tuple[str, str]] = {
    "workspace": (
        "modelport.cli.workspace_cmd:workspace",
        "Create, inspect and clean up workspaces.",
    ),
    "model": ("modelport.cli.model_cmd:model", "Register, list, download and delete models."),
    "serve": (
        "modelport.cli.serve_cmd:serve",
        "Serve an entry script over HTTP (the scoring server).",
    ),
    "environment": (
        "modelport.cli.environment_cmd:environment",
        "Register, list and build environments.",
    ),
    "service": ("modelport.cli.service_cmd:service", "List, inspect, update and delete services."),
    "compute": (
        "modelport.cli.compute_cmd:compute",
        "Attach, list, show and detach Kubernetes clusters.",
    ),
    "endpoint": (
        "modelport.cli.endpoint_cmd:endpoint",
        "Endpoints: versions, traffic split, shadow traffic.",
    ),
    "profile": ("modelport.cli.profile_cmd:profile", "Profile a model service; show results."),
    "dataset": ("modelport.cli.dataset_cmd:dataset", "Register and list request datasets."),
    "migrate": ("modelport.cli.migrate_cmd:migrate", "Check and port Azure ML v1 code (imports)."),
    "batch": ("modelport.cli.batch_cmd:batch", "Batch inference over files or rows; list runs."),
    "webhook": ("modelport.cli.webhook_cmd:webhook", "Signed calls to a URL on registry events."),
    "events": (
        "modelport.cli.events_cmd:events",
        "The event log; the process delivering webhooks and triggers.",
    ),
    "k8s": ("modelport.cli.k8s_cmd:k8s", "Render a service's Kubernetes manifests (GitOps)."),
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (target, _) in _COMMANDS.items() if _importable(target))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None or not _importable(entry[0]):
            return None
        module_name, attr = entry[0].split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Show one-line help without importing every sub-command module.
        rows = [(name, _COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _importable(target: str) -> bool:
    module_name = target.split(":")[0]
    return importlib.util.find_spec(module_name) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modelport")
def cli() -> None:
    """modelport: register models and deploy them as web services, locally first."""


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; ModelportError becomes a one-line message and its exit code."""
    from modelport.cli._output import run_cli

    return run_cli(cli, argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover
    main()
