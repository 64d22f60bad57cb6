"""`modelport serve`: host one entry script and its models over HTTP.

A thin layer over `modelport.scoring.serve`; options are shared with `python -m modelport.scoring`.
`--model NAME[:VERSION]` lays registered models out from the workspace, as a deployment would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from modelport.cli._output import workspace_option
from modelport.scoring._cli import OPTIONS, build_config

F = TypeVar("F", bound=Callable[..., Any])


def server_options(func: F) -> F:
    """Decorate a click command with every server option (all optional; env vars fill gaps)."""
    for decls, kwargs in reversed(OPTIONS):
        func = click.option(*decls, default=None, **kwargs)(func)
    return func


@click.command(name="serve")
@server_options
@click.option(
    "-m",
    "--model",
    "models",
    multiple=True,
    metavar="NAME[:VERSION]",
    help="Serve a registered model (repeatable); sets the model folder from the workspace.",
)
@workspace_option
def serve(models: tuple[str, ...], workspace_path: str | None, **options: Any) -> None:
    """Serve an Azure ML v1 entry script (score.py) over HTTP, unmodified.

    Example: modelport serve --entry-script score.py --model sklearn_regression:1 --port 5001
    """
    from modelport.scoring import serve as run_server

    if models:
        options["model_dir"] = _registered_model_dir(
            workspace_path, models, options.get("model_dir")
        )
    run_server(build_config(options))


def _registered_model_dir(
    workspace_path: str | None, ids: tuple[str, ...], given: str | None
) -> str:
    from modelport.core.model import Model, parse_model_id
    from modelport.core.workspace import Workspace
    from modelport.errors import InvalidArgument
    from modelport.layout import MODELS_FOLDER, model_dir_for

    if given:
        raise InvalidArgument("Use either --model or --model-dir, not both.")
    ws = Workspace.get(workspace_path)
    found = [Model(ws, name, version=version) for name, version in map(parse_model_id, ids)]
    cache = ws.path / "cache"
    for model in found:
        model.materialize(cache / MODELS_FOLDER)
    return str(model_dir_for(cache, [(m.name, m.version) for m in found]))
