"""`modelport serve`: host one entry script and its models over HTTP.

A thin layer over `modelport.scoring.serve`; options are shared with `python -m modelport.scoring`.
"""

from __future__ import annotations

from typing import Any

import click

from modelport.scoring._cli import build_config, server_options


@click.command(name="serve")
@server_options
def serve(**options: Any) -> None:
    """Serve an Azure ML v1 entry script (score.py) over HTTP, unmodified.

    Example: modelport serve --entry-script score.py --model-dir ./model --port 5001
    """
    from modelport.scoring import serve as run_server

    run_server(build_config(options))
