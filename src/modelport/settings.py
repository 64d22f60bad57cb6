"""Every `MODELPORT_*` environment variable, in one table, read when used (never at import).

This module has no dependencies beyond the standard library: the scoring server reads its
settings through it inside service environments too. `docs/settings.md` documents the same
table and a test keeps the two equal, so no variable can be read without being documented.

    from modelport import settings
    settings.get("MODELPORT_DRAIN_S")            # 1.0 unless the variable says otherwise
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelport.errors import InvalidArgument


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Any
    scope: str  # who reads it: "sdk", "server" (the scoring server), "internal"
    doc: str


def _flag(raw: str) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("must be positive")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be positive")
    return value


_TABLE: tuple[Setting, ...] = (
    Setting(
        "MODELPORT_WORKSPACE",
        str,
        None,
        "sdk",
        "Default workspace folder or config file (else ./.modelport).",
    ),
    Setting(
        "MODELPORT_DATABASE_URL",
        str,
        None,
        "sdk",
        "Metadata store URL when the workspace config names none (e.g. postgresql+psycopg://…).",
    ),
    Setting(
        "MODELPORT_CONTAINER_REGISTRY",
        str,
        None,
        "sdk",
        "Container registry address images are tagged for and pushed to.",
    ),
    Setting(
        "MODELPORT_CONTAINER_REGISTRY_USERNAME",
        str,
        None,
        "sdk",
        "User name for MODELPORT_CONTAINER_REGISTRY.",
    ),
    Setting(
        "MODELPORT_CONTAINER_REGISTRY_PASSWORD",
        str,
        None,
        "sdk",
        "Password for MODELPORT_CONTAINER_REGISTRY.",
    ),
    Setting(
        "MODELPORT_CONTAINER_ENGINE",
        str,
        None,
        "sdk",
        "Container engine socket (unix:///…, tcp://…); else the workspace's, DOCKER_HOST, Docker's, Podman's.",
    ),
    Setting(
        "MODELPORT_DEFAULT_BASE_IMAGE",
        str,
        None,
        "sdk",
        "Base image of packages and container services that name none (else python:3.11-slim).",
    ),
    Setting(
        "MODELPORT_SSL_CERTFILE",
        str,
        None,
        "server",
        "PEM certificate: serve HTTPS (with the key).",
    ),
    Setting("MODELPORT_SSL_KEYFILE", str, None, "server", "PEM private key of the certificate."),
    Setting(
        "MODELPORT_READY_TIMEOUT_S",
        _positive_float,
        600.0,
        "sdk",
        "How long a local service's new revision may take to finish init() on every worker.",
    ),
    Setting("MODELPORT_PORT", int, None, "server", "Scoring server port (also SERVER_PORT)."),
    Setting("MODELPORT_HOST", str, None, "server", "Scoring server interface."),
    Setting(
        "MODELPORT_WORKERS",
        _positive_int,
        None,
        "server",
        "Scoring server worker processes (also WORKER_COUNT).",
    ),
    Setting("MODELPORT_AUTH_KEYS_FILE", str, None, "server", "Keys file that turns on key auth."),
    Setting(
        "MODELPORT_TOKEN_SECRET_FILE",
        str,
        None,
        "server",
        "HS256 secret file that turns on token auth.",
    ),
    Setting(
        "MODELPORT_DATA_COLLECTION_DIR",
        str,
        None,
        "server",
        "Where ModelDataCollector writes rows (default: <app root>/data-collection).",
    ),
    Setting(
        "MODELPORT_ACCESS_LOG", _flag, False, "server", "Log one line per request (1/true/yes/on)."
    ),
    Setting(
        "MODELPORT_DRAIN_S",
        _positive_float,
        1.0,
        "server",
        "How long a stopping worker waits for busy keep-alive clients to reconnect elsewhere.",
    ),
    Setting(
        "MODELPORT_STUCK_GRACE_S",
        _positive_float,
        5.0,
        "server",
        "How long past the scoring timeout a run() may stay blocked before its worker is replaced.",
    ),
    Setting(
        "MODELPORT_MAX_REQUEST_BODY_BYTES",
        _positive_int,
        None,
        "server",
        "Largest request body the scoring server reads (default 104857600, 100 MiB); larger is 413.",
    ),
    Setting(
        "MODELPORT_MAX_HEADER_BYTES",
        _positive_int,
        None,
        "server",
        "Longest request line or header line (default 8190 bytes); longer is 414 or 431.",
    ),
    Setting(
        "MODELPORT_MAX_HEADER_COUNT",
        _positive_int,
        None,
        "server",
        "Most header fields in one request (default 100); more is 431.",
    ),
    Setting(
        "MODELPORT_HEADER_TIMEOUT_MS",
        _positive_int,
        None,
        "server",
        "Time a client has to send a complete request head (default 20000 ms), else it is closed.",
    ),
    Setting(
        "MODELPORT_ONNX_THREADS",
        _positive_int,
        1,
        "server",
        "Intra-op threads of the ONNX runtime per worker.",
    ),
    Setting(
        "MODELPORT_BATCH_MAX_SIZE",
        _positive_int,
        None,
        "server",
        "Adaptive batching: most rows per batch (set by batch_environment).",
    ),
    Setting(
        "MODELPORT_BATCH_MAX_WAIT_MS",
        float,
        None,
        "server",
        "Adaptive batching: longest wait to fill a batch, in ms.",
    ),
    Setting(
        "MODELPORT_EVENTS_POLL_S",
        _positive_float,
        0.2,
        "sdk",
        "How often the events process looks for new events and due deliveries.",
    ),
    Setting(
        "MODELPORT_WEBHOOK_RETRY_BASE_S",
        _positive_float,
        1.0,
        "sdk",
        "First webhook retry delay; each further attempt waits twice as long.",
    ),
    Setting(
        "MODELPORT_WEBHOOK_RETRY_MAX_S",
        _positive_float,
        300.0,
        "sdk",
        "Longest delay between two attempts of one webhook delivery.",
    ),
    Setting(
        "MODELPORT_WEBHOOK_MAX_ATTEMPTS",
        _positive_int,
        15,
        "sdk",
        "Attempts of one webhook delivery before it is marked failed.",
    ),
    Setting(
        "MODELPORT_WEBHOOK_TIMEOUT_S",
        _positive_float,
        10.0,
        "sdk",
        "How long one webhook request may take before it counts as failed.",
    ),
    Setting(
        "MODELPORT_WORKER",
        str,
        None,
        "internal",
        "A worker's launch spec, passed by the scoring server to its worker processes.",
    ),
)
SETTINGS: dict[str, Setting] = {s.name: s for s in _TABLE}


def get(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The parsed value of `name` (its default when unset or empty); bad values fail loudly."""
    setting = SETTINGS[name]
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None or raw.strip() == "":
        return setting.default
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise InvalidArgument(
            f"Environment variable {name}={raw!r} is invalid ({exc}).",
            hint=f"{setting.doc} Unset it or give a valid value.",
        ) from None


def markdown_table() -> str:
    """The table docs/settings.md carries (a test compares them)."""
    lines = ["| variable | read by | default | what it does |", "|---|---|---|---|"]
    for s in _TABLE:
        default = "" if s.default is None else f"`{s.default}`"
        lines.append(f"| `{s.name}` | {s.scope} | {default} | {s.doc} |")
    return "\n".join(lines)
