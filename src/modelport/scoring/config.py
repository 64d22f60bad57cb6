"""Server settings: one dataclass, filled from flags and the reference server's environment.

Explicit values win over environment variables; nothing is read at import time.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelport import settings
from modelport.errors import InvalidArgument
from modelport.scoring.auth import read_keys_file, read_token_secret

DEFAULT_PORT = 5001
DEFAULT_SCORING_TIMEOUT_MS = 3_600_000  # the reference server's default: one hour
DEFAULT_QUEUE_PER_WORKER = 512
# Request bounds (docs/scoring.md explains the choices): bodies up to 100 MiB; each line of the
# request head (the request line or one header) up to gunicorn's 8190 bytes, at most 100 header
# fields (the reference server's limits, which runs under gunicorn); a head must be complete
# within 20 s of the connection opening or the request's first byte.
DEFAULT_MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_HEADER_BYTES = 8190
DEFAULT_MAX_HEADER_COUNT = 100
DEFAULT_HEADER_TIMEOUT_MS = 20_000

# field name -> environment variables read when the field is not given (first one set wins).
_ENV: dict[str, tuple[str, ...]] = {
    "entry_script": ("AZUREML_ENTRY_SCRIPT",),
    "app_root": ("AML_APP_ROOT",),
    "model_dir": ("AZUREML_MODEL_DIR",),
    "source_dir": ("AZUREML_SOURCE_DIRECTORY",),
    "port": ("MODELPORT_PORT", "SERVER_PORT"),
    "host": ("MODELPORT_HOST",),
    "workers": ("MODELPORT_WORKERS", "WORKER_COUNT"),
    "scoring_timeout_ms": ("SCORING_TIMEOUT_MS",),
    "max_concurrent_requests_per_container": ("MAX_CONCURRENT_REQUESTS_PER_CONTAINER",),
    "max_request_wait_time_ms": ("MAX_REQUEST_WAIT_TIME",),
    "auth_keys_file": ("MODELPORT_AUTH_KEYS_FILE",),
    "token_secret_file": ("MODELPORT_TOKEN_SECRET_FILE",),
    "service_name": ("SERVICE_NAME",),
    "service_version": ("SERVICE_VERSION",),
    "service_path_prefix": ("SERVICE_PATH_PREFIX",),
    "cors_origins": ("AML_CORS_ORIGINS",),
    "data_collection_dir": ("MODELPORT_DATA_COLLECTION_DIR",),
    "log_level": ("AZUREML_LOG_LEVEL",),
    "server_version": ("HTTP_X_MS_SERVER_VERSION",),
    "access_log": ("MODELPORT_ACCESS_LOG",),
    "max_request_body_bytes": ("MODELPORT_MAX_REQUEST_BODY_BYTES",),
    "max_header_bytes": ("MODELPORT_MAX_HEADER_BYTES",),
    "max_header_count": ("MODELPORT_MAX_HEADER_COUNT",),
    "header_timeout_ms": ("MODELPORT_HEADER_TIMEOUT_MS",),
    "ssl_certfile": ("MODELPORT_SSL_CERTFILE",),
    "ssl_keyfile": ("MODELPORT_SSL_KEYFILE",),
}
_INT_FIELDS = {
    "port",
    "workers",
    "scoring_timeout_ms",
    "max_concurrent_requests_per_container",
    "max_request_wait_time_ms",
}


@dataclass(frozen=True)
class ServerConfig:
    """Everything `serve()` needs; build it with `ServerConfig.from_env(entry_script=...)`."""

    entry_script: str | None = None
    app_root: str | None = None
    model_dir: str | None = None
    source_dir: str | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int | None = None
    scoring_timeout_ms: int = DEFAULT_SCORING_TIMEOUT_MS
    max_concurrent_requests_per_container: int | None = None
    max_request_wait_time_ms: int | None = None
    auth_keys_file: str | None = None
    token_secret_file: str | None = None
    service_name: str = "ML service"
    service_version: str = "1.0"
    service_path_prefix: str = ""
    cors_origins: str | None = None
    data_collection_dir: str | None = None
    log_level: str = "INFO"
    server_version: str | None = None
    access_log: bool = False
    max_request_body_bytes: int = DEFAULT_MAX_REQUEST_BODY_BYTES
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_header_count: int = DEFAULT_MAX_HEADER_COUNT
    header_timeout_ms: int = DEFAULT_HEADER_TIMEOUT_MS
    port_file: str | None = None
    listen_fd: int | None = None
    listen_from: str | None = None  # a unix socket that hands over the listening socket
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ready_file: str | None = None
    # Several servers share host:port (SO_REUSEPORT; Kubernetes replicas on a node's network):
    # the socket listens only once every worker is ready and stops listening when draining.
    reuse_port: bool = False
    health_file: str | None = None  # present exactly while every worker is ready
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> ServerConfig:
        """Fill unset fields from the environment, then resolve paths and validate."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        origins = {k: _FLAGS.get(k, k) for k in values}
        for name, keys in _ENV.items():
            if name in values:
                continue
            for key in keys:
                raw = env.get(key)
                if raw not in (None, ""):
                    known = key in settings.SETTINGS  # MODELPORT_* parse through the one table
                    values[name] = settings.get(key, env) if known else _coerce(name, raw)
                    origins[name] = key
                    break
        return cls(**values).resolved(origins)

    def resolved(self, origins: Mapping[str, str] | None = None) -> ServerConfig:
        """Absolute paths, defaults that depend on the machine, and validation. `origins` says
        where each value came from (a flag or an environment variable), for the error."""
        _check(self, origins or {})
        app_root = os.path.abspath(self.app_root or os.getcwd())
        if self.entry_script is None:
            raise InvalidArgument(
                "No entry script given.", hint="Pass --entry-script or set AZUREML_ENTRY_SCRIPT."
            )
        entry = self.entry_script
        if not os.path.isabs(entry):
            under_root = os.path.join(app_root, entry)
            entry = under_root if os.path.exists(under_root) else os.path.abspath(entry)
        if not os.path.isfile(entry):
            raise InvalidArgument(f"Entry script {entry} does not exist.")
        model_dir = os.path.abspath(self.model_dir) if self.model_dir else None
        workers = self.workers if self.workers is not None else (os.cpu_count() or 1)
        if self.auth_keys_file is not None:
            read_keys_file(self.auth_keys_file)  # a malformed file fails now, not as 401s
        if self.token_secret_file is not None:
            read_token_secret(self.token_secret_file)
        check_tls(self.ssl_certfile, self.ssl_keyfile)
        return dataclasses.replace(
            self,
            entry_script=entry,
            app_root=app_root,
            model_dir=model_dir,
            workers=workers,
            auth_keys_file=_abs(self.auth_keys_file),
            token_secret_file=_abs(self.token_secret_file),
            ssl_certfile=_abs(self.ssl_certfile),
            ssl_keyfile=_abs(self.ssl_keyfile),
            data_collection_dir=os.path.abspath(
                self.data_collection_dir or os.path.join(app_root, "data-collection")
            ),
        )

    @property
    def queue_limit(self) -> int:
        """Requests one worker admits (running + waiting) before answering 503."""
        limit = self.max_concurrent_requests_per_container
        return DEFAULT_QUEUE_PER_WORKER if limit is None or limit <= 0 else limit

    @property
    def max_wait_s(self) -> float:
        """How long a request may wait for the script before 503 (default: the scoring timeout)."""
        wait = self.max_request_wait_time_ms
        return (wait if wait and wait > 0 else self.scoring_timeout_ms) / 1000.0

    @property
    def auth_enabled(self) -> bool:
        return self.auth_keys_file is not None or self.token_secret_file is not None

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["extra_env"] = dict(self.extra_env)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        return cls(**json.loads(text))

    def script_env(self) -> dict[str, str]:
        """Environment variables a v1 entry script expects inside the service."""
        env = {
            "AML_APP_ROOT": self.app_root or "",
            "AZUREML_ENTRY_SCRIPT": _under_root(self.entry_script or "", self.app_root or ""),
            "SERVICE_NAME": self.service_name,
            "MODELPORT_DATA_COLLECTION_DIR": self.data_collection_dir or "",
        }
        if self.model_dir:
            env["AZUREML_MODEL_DIR"] = self.model_dir
        if self.source_dir:
            env["AZUREML_SOURCE_DIRECTORY"] = self.source_dir
        env.update(self.extra_env)
        return env


def check_tls(certfile: str | None, keyfile: str | None) -> None:
    """Both TLS files or neither; they must exist and belong together (checked at start-up,
    not on the first handshake)."""
    if certfile is None and keyfile is None:
        return
    if certfile is None or keyfile is None:
        raise InvalidArgument("TLS needs both --ssl-certfile and --ssl-keyfile.")
    for flag, path in (("--ssl-certfile", certfile), ("--ssl-keyfile", keyfile)):
        if not os.path.isfile(path):
            raise InvalidArgument(f"{flag} {path} does not exist.")
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        raise InvalidArgument(
            f"The TLS certificate {certfile} and key {keyfile} cannot be used together "
            f"({exc.reason or exc}).",
            hint="Pass the PEM certificate and the PEM private key that belongs to it.",
        ) from None


def _under_root(path: str, root: str) -> str:
    """`path` relative to the app root when it lies inside it (v1 sets AZUREML_ENTRY_SCRIPT
    to `src/score.py`, not an absolute path), else as given."""
    if path and root and os.path.isabs(path):
        relative = os.path.relpath(path, root)
        if not relative.startswith(os.pardir):
            return relative.replace(os.sep, "/")
    return path


def _abs(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def _coerce(name: str, raw: str) -> Any:
    """An environment variable's text as the field's type, or the text when it is not one
    (`_check` then names the variable)."""
    if name == "access_log":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if name not in _INT_FIELDS:
        return raw
    try:
        return int(raw.strip())
    except ValueError:
        return raw


# What each field accepts: (type, lowest allowed, words). Hand-checked, as the scoring server
# runs in service environments without a schema library.
_INT = (int, None, "an integer")
_TEXT = (str, None, "a string")
_FIELDS: dict[str, tuple[type, int | None, str]] = {
    "entry_script": _TEXT,
    "app_root": _TEXT,
    "model_dir": _TEXT,
    "source_dir": _TEXT,
    "host": (str, 1, "a non-empty string"),
    "port": (int, 0, "an integer from 0 to 65535 (0 picks a free port)"),
    "workers": (int, 1, "an integer of at least 1"),
    "scoring_timeout_ms": (int, 1, "a positive integer"),
    "max_concurrent_requests_per_container": _INT,
    "max_request_wait_time_ms": _INT,
    "auth_keys_file": _TEXT,
    "token_secret_file": _TEXT,
    "service_name": _TEXT,
    "service_version": _TEXT,
    "service_path_prefix": _TEXT,
    "cors_origins": _TEXT,
    "data_collection_dir": _TEXT,
    "log_level": (str, 1, "a non-empty string"),
    "server_version": _TEXT,
    "access_log": (bool, None, "true or false"),
    "max_request_body_bytes": (int, 1, "a positive integer"),
    "max_header_bytes": (int, 1, "a positive integer"),
    "max_header_count": (int, 1, "a positive integer"),
    "header_timeout_ms": (int, 1, "a positive integer"),
    "ssl_certfile": _TEXT,
    "ssl_keyfile": _TEXT,
    "listen_from": _TEXT,
    "port_file": _TEXT,
    "listen_fd": (int, 0, "a file descriptor number (0 or more)"),
    "ready_file": _TEXT,
    "reuse_port": (bool, None, "true or false"),
    "health_file": _TEXT,
    "extra_env": (dict, None, "a mapping of strings to strings"),
}


def _check(config: ServerConfig, origins: Mapping[str, str]) -> None:
    """One line for the first field that does not fit: where it came from, its value, the rule."""
    for name, (kind, low, allowed) in _FIELDS.items():
        value = getattr(config, name)
        if value is None and name not in ("port", "scoring_timeout_ms", "host", "log_level"):
            continue
        if kind is int:
            fits = type(value) is int and (low is None or value >= low)
            fits = fits and (name != "port" or value <= 65535)
        elif kind is str:
            fits = isinstance(value, str) and (low is None or len(value) >= low)
        elif kind is bool:
            fits = isinstance(value, bool)
        else:
            fits = isinstance(value, Mapping) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            )
        if not fits:
            origin = origins.get(name, name)
            raise InvalidArgument(f"{origin}={value!r} is not valid: must be {allowed}.")
        if name in ("auth_keys_file", "token_secret_file") and not os.path.isfile(value):
            raise InvalidArgument(f"{origins.get(name, _FLAGS[name])} {value} does not exist.")


# ServerConfig field -> the server's command-line flag (scoring/_cli.py parses them back).
_FLAGS: dict[str, str] = {
    "entry_script": "--entry-script",
    "model_dir": "--model-dir",
    "app_root": "--app-root",
    "source_dir": "--source-dir",
    "host": "--host",
    "port": "--port",
    "workers": "--workers",
    "scoring_timeout_ms": "--scoring-timeout-ms",
    "max_concurrent_requests_per_container": "--max-concurrent-requests-per-container",
    "max_request_wait_time_ms": "--max-request-wait-time",
    "auth_keys_file": "--auth-keys-file",
    "token_secret_file": "--token-secret-file",
    "service_name": "--service-name",
    "cors_origins": "--cors-origins",
    "log_level": "--log-level",
    "max_request_body_bytes": "--max-request-body-bytes",
    "max_header_bytes": "--max-header-bytes",
    "max_header_count": "--max-header-count",
    "header_timeout_ms": "--header-timeout-ms",
    "port_file": "--port-file",
    "listen_fd": "--fd",
    "listen_from": "--fd-from",
    "ssl_certfile": "--ssl-certfile",
    "ssl_keyfile": "--ssl-keyfile",
    "ready_file": "--ready-file",
    "reuse_port": "--reuse-port",
    "health_file": "--health-file",
}
SERVER_MODULE = "modelport.scoring"


def server_args(config: ServerConfig, keep: tuple[str, ...] = ()) -> list[str]:
    """The one rendering of a launch: the flags that start the server with `config` (fields
    left at their defaults are omitted unless named in `keep`). Every target launches the
    server this way: a local process, a Dockerfile's CMD, a Kubernetes container's args."""
    defaults = ServerConfig()
    args: list[str] = []
    for name, flag in _FLAGS.items():
        value = getattr(config, name)
        if value is None or (value == getattr(defaults, name) and name not in keep):
            continue
        if isinstance(value, bool):  # an on/off flag: present when on
            args += [flag] if value else []
            continue
        args += [flag, str(value)]
    return args


def server_command(
    config: ServerConfig, python: str = "python", keep: tuple[str, ...] = ()
) -> list[str]:
    """`[python, -m, modelport.scoring, *server_args(config)]`."""
    return [python, "-m", SERVER_MODULE, *server_args(config, keep)]
