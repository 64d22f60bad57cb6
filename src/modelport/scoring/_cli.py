"""The options shared by `modelport serve` (click) and `python -m modelport.scoring` (argparse).

One table, two parsers: the server runs inside service environments, which hold only
modelport-runtime, so it parses with the standard library; the CLI builds click options from
the same table (`modelport.cli.serve_cmd`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

# (flag[, destination]), keyword arguments both click.option and add_argument accept
OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (
        ("--entry-script",),
        {"metavar": "PATH", "help": "The entry script (env AZUREML_ENTRY_SCRIPT)."},
    ),
    (("--model-dir",), {"metavar": "DIR", "help": "Model folder (env AZUREML_MODEL_DIR)."}),
    (
        ("--app-root",),
        {"metavar": "DIR", "help": "App root, cwd of init() (env AML_APP_ROOT; default: cwd)."},
    ),
    (
        ("--source-dir",),
        {"metavar": "DIR", "help": "Extra importable folder (env AZUREML_SOURCE_DIRECTORY)."},
    ),
    (("--host",), {"metavar": "HOST", "help": "Interface to bind [default: 127.0.0.1]."}),
    (
        ("--port",),
        {"type": int, "metavar": "PORT", "help": "Port; 0 picks a free one [default: 5001]."},
    ),
    (
        ("--workers",),
        {"type": int, "metavar": "N", "help": "Worker processes [default: one per core]."},
    ),
    (
        ("--scoring-timeout-ms",),
        {
            "type": int,
            "metavar": "MS",
            "help": "run() time limit (env SCORING_TIMEOUT_MS) [default: 3600000].",
        },
    ),
    (
        ("--max-concurrent-requests-per-container",),
        {
            "type": int,
            "metavar": "N",
            "help": "Requests one worker admits, running or waiting, before 503 [default: 512].",
        },
    ),
    (
        ("--max-request-wait-time",),
        {
            "type": int,
            "metavar": "MS",
            "help": "Longest wait for run() before 503 [default: the scoring timeout].",
        },
    ),
    (
        ("--max-request-body-bytes",),
        {
            "type": int,
            "metavar": "BYTES",
            "help": "Largest request body; larger is 413 before it is read [default: 104857600].",
        },
    ),
    (
        ("--max-header-bytes",),
        {
            "type": int,
            "metavar": "BYTES",
            "help": "Longest request line (else 414) or header line (else 431) [default: 8190].",
        },
    ),
    (
        ("--max-header-count",),
        {"type": int, "metavar": "N", "help": "Most header fields; more is 431 [default: 100]."},
    ),
    (
        ("--header-timeout-ms",),
        {
            "type": int,
            "metavar": "MS",
            "help": "Close a connection whose request head is not complete by then [default: 20000].",
        },
    ),
    (
        ("--auth-keys-file",),
        {"metavar": "PATH", "help": 'JSON {"primary": ..., "secondary": ...}; enables key auth.'},
    ),
    (("--token-secret-file",), {"metavar": "PATH", "help": "HS256 secret; enables JWT auth."}),
    (
        ("--service-name",),
        {"metavar": "NAME", "help": "Service name for swagger and V2 (env SERVICE_NAME)."},
    ),
    (
        ("--cors-origins",),
        {"metavar": "LIST", "help": "Comma-separated allowed origins (env AML_CORS_ORIGINS)."},
    ),
    (
        ("--log-level",),
        {"metavar": "LEVEL", "help": "Log level (env AZUREML_LOG_LEVEL) [default: INFO]."},
    ),
    (
        ("--port-file",),
        {"metavar": "PATH", "help": "Write the bound port to this file (useful with --port 0)."},
    ),
    (
        ("--fd", "listen_fd"),
        {
            "type": int,
            "metavar": "FD",
            "help": "Serve on this inherited listening socket instead of binding (used by service supervisors).",
        },
    ),
    (
        ("--fd-from", "listen_from"),
        {
            "metavar": "PATH",
            "help": "Receive the listening socket over this unix socket (used by container services).",
        },
    ),
    (
        ("--ssl-certfile",),
        {"metavar": "PATH", "help": "PEM certificate: serve HTTPS (with --ssl-keyfile)."},
    ),
    (("--ssl-keyfile",), {"metavar": "PATH", "help": "PEM private key of --ssl-certfile."}),
    (
        ("--ready-file",),
        {"metavar": "PATH", "help": "Create this file once every worker has finished init()."},
    ),
    (
        ("--reuse-port",),
        {
            "is_flag": True,
            "help": "Share HOST:PORT with other servers (SO_REUSEPORT): listen only once every "
            "worker is ready, stop listening when draining (Kubernetes replicas on one node).",
        },
    ),
    (
        ("--health-file",),
        {"metavar": "PATH", "help": "Keep this file present exactly while every worker is ready."},
    ),
]


def build_config(options: dict[str, Any]) -> Any:
    """A resolved ServerConfig from the option values."""
    from modelport.scoring.config import ServerConfig

    given = dict(options)
    wait = given.pop("max_request_wait_time", None)
    return ServerConfig.from_env(max_request_wait_time_ms=wait, **given)


def parser() -> argparse.ArgumentParser:
    """`python -m modelport.scoring`'s parser: every option optional; env vars fill gaps."""
    parsed = argparse.ArgumentParser(
        prog="python -m modelport.scoring",
        description="Serve an Azure ML v1 entry script over HTTP "
        "(GET /readyz says when it is ready).",
    )
    for decls, kwargs in OPTIONS:
        dest = decls[1] if len(decls) > 1 else decls[0].lstrip("-").replace("-", "_")
        options = dict(kwargs)
        if options.pop("is_flag", False):  # click's on/off flag: True when given, else unset
            options.update(action="store_const", const=True)
        parsed.add_argument(decls[0], dest=dest, default=None, **options)
    return parsed


def main(argv: Sequence[str]) -> None:
    """Parse `argv` and serve until SIGTERM/SIGINT."""
    from modelport.scoring import serve

    serve(build_config(vars(parser().parse_args(list(argv)))))
