"""The CLI reference in Markdown, generated from the commands' own `--help`.

`python -m modelport.cli.reference > docs/cli.md` regenerates it; a test fails when the file is
stale, so the reference cannot drift from the code.
"""

from __future__ import annotations

import click

from modelport.cli.main import cli


def render() -> str:
    lines = [
        "# CLI reference",
        "",
        "Generated from `--help` by `python -m modelport.cli.reference`.",
        "",
    ]
    root = click.Context(cli, info_name="modelport", terminal_width=100, max_content_width=100)
    lines += _section(root, cli, ["modelport"])
    return "\n".join(lines).rstrip() + "\n"


def _section(parent: click.Context, command: click.Command, path: list[str]) -> list[str]:
    ctx = click.Context(
        command,
        info_name=path[-1],
        parent=parent if len(path) > 1 else None,
        terminal_width=100,
        max_content_width=100,
    )
    out = [
        f"{'#' * min(len(path) + 1, 4)} `{' '.join(path)}`",
        "",
        "```",
        command.get_help(ctx),
        "```",
        "",
    ]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                out += _section(ctx, sub, [*path, name])
    return out


if __name__ == "__main__":
    click.echo(render(), nl=False)
