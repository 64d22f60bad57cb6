"""Shared CLI plumbing: error handling, output formats and the workspace option."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, TypeVar

import click

from modelport.errors import ModelportError

F = TypeVar("F", bound=Callable[..., Any])


def run_cli(group: click.Group, argv: Sequence[str]) -> None:
    """Invoke the group; turn ModelportError into `error: ...` on stderr and its exit code,
    and each warning into one `warning: ...` line."""
    shown = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        group.main(args=list(argv), prog_name="modelport", standalone_mode=False)
    except ModelportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    finally:
        warnings.showwarning = shown


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """People need the message, not the source line that raised it."""
    click.echo("warning: " + " ".join(str(message).splitlines()), err=True)


def workspace_option(func: F) -> F:
    """`-w/--workspace PATH` on every command; MODELPORT_WORKSPACE is the fallback."""
    return click.option(
        "-w",
        "--workspace",
        "workspace_path",
        envvar="MODELPORT_WORKSPACE",
        default=None,
        metavar="PATH",
        help="Workspace folder or config file (default: ./.modelport or MODELPORT_WORKSPACE).",
    )(func)


def output_option(func: F) -> F:
    """`-o/--output table|json`: tables for people, JSON for scripts."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Output format.",
    )(func)


def open_workspace(path: str | None) -> Any:
    """The v1 façade's workspace at `-w PATH` (or the default), imported when first used."""
    from modelport.core.workspace import Workspace

    return Workspace.get(path)


def key_values(values: Sequence[str], what: str) -> dict[str, str]:
    """`--tag k=v` style options as a mapping; a malformed one is a user error."""
    from modelport.errors import InvalidArgument

    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"Invalid --{what} {item!r}: write key=value.")
        out[key] = value
    return out


def emit_follow_status(data: dict[str, Any], output: str) -> None:
    """What a service or endpoint follows, and the outcomes of the last versions."""
    if output == "json":
        emit_json(data)
        return
    emit_mapping({k: v for k, v in data.items() if k != "history"})
    emit_table(
        "Last versions",
        ["Model", "Outcome", "Reason"],
        ((h["model"], h["outcome"], h["reason"] or "") for h in data["history"]),
    )


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def emit_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    _console().print(table)


def emit_mapping(data: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key, value in data.items():
        if isinstance(value, dict | list):
            value = json.dumps(value, default=str)
        table.add_row(key, "" if value is None else str(value))
    _console().print(table)


def _console() -> Any:
    """A rich console; when piped, wide enough that rows are not folded mid-value."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)
