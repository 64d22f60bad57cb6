"""The local target: a supervised process tree on this machine, no Docker.

Each revision gets its own app folder under the service's home (the source directory copied,
models hard-linked in the `azureml-models/<name>/<version>/` layout) and a cached virtualenv;
a detached supervisor process keeps the port and runs the scoring server (`supervisor.py`).
Everything local lives here: ports, this machine's cores and memory, `status.json`, the
service log, key and token files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from modelport._jsonfile import read_json, write_json
from modelport._net import client_host
from modelport._procs import spawn_detached
from modelport.app_folder import copy_app, place_models
from modelport.deploy import credentials
from modelport.deploy.placement import machine_problem, place_here
from modelport.deploy.states import FAILED, HEALTHY, STOPPED, TRANSITIONING, UNHEALTHY
from modelport.deploy.target import DeploymentTarget, Log, ServiceRecord, ServiceSpec
from modelport.environments.build import build_environment
from modelport.errors import DeploymentError, WebserviceException
from modelport.layout import MODELS_FOLDER, model_dir_for
from modelport.scoring.config import ServerConfig, check_tls, server_args
from modelport.targets.local.status import (
    process_alive,
    read_status,
    service_processes,
    tail,
)

LOG_NAME = "service.log"


class LocalTarget(DeploymentTarget):
    compute_type = "local"

    # -- placing ------------------------------------------------------------------------
    def unschedulable(self, spec: ServiceSpec) -> str | None:
        return machine_problem(spec.deployment_config)

    def place(self, spec: ServiceSpec, home: Path) -> dict[str, Any]:
        return place_here(spec.deployment_config)

    # -- lifecycle ----------------------------------------------------------------------
    def deploy(self, record: ServiceRecord, spec: ServiceSpec, log: Log) -> None:
        self._prepare(record, spec, log)
        _spawn_supervisor(record.home)

    def update(self, record: ServiceRecord, spec: ServiceSpec, log: Log) -> dict[str, Any]:
        """Returns once the new revision serves; on failure the old one's spec is restored
        (it keeps serving when it was) and WebserviceException says why."""
        home = record.home
        data = {"host": spec.deployment_config.host, "port": spec.deployment_config.port}
        previous = read_json(home / "desired.json")
        update_id = self._prepare(record, spec, log, data)
        status = read_status(home)
        same_socket = previous is not None and (previous["host"], previous["port"]) == (
            data["host"],
            data["port"],
        )
        running = process_alive(status.get("supervisor_pid"), status.get("supervisor_started"))
        if same_socket and running:
            os.kill(status["supervisor_pid"], signal.SIGHUP)
        else:  # not running, or moving to another port: a restart is the only way
            self._stop_processes(home)
            (home / "status.json").unlink(missing_ok=True)
            _spawn_supervisor(home)
        error = _await_update(home, update_id)
        if error is None:
            return data
        if previous is not None:
            write_json(home / "desired.json", previous)
        shutil.rmtree(home / f"rev-{spec.revision}", ignore_errors=True)
        kept = (
            "the previous revision keeps serving"
            if same_socket and running
            else "the service is down"
        )
        raise WebserviceException(
            f"Update to revision {spec.revision} failed ({kept}): {error}",
            hint=f"See the log: modelport service logs {spec.name}",
        )

    def state(self, record: ServiceRecord) -> tuple[str, str | None]:
        status = read_status(record.home)
        state = status.get("state")
        if state is None:
            return TRANSITIONING, None
        if state in (FAILED, "Unschedulable"):
            return state, status.get("error")
        alive = process_alive(status.get("supervisor_pid"), status.get("supervisor_started"))
        if not alive:
            if state == STOPPED:
                return UNHEALTHY, "the service is stopped; `modelport service restart` starts it"
            return (
                UNHEALTHY,
                "the service's processes are not running (machine rebooted or killed?)",
            )
        if state == HEALTHY and not _ready(record):
            return UNHEALTHY, "the scoring server is not ready (a worker is restarting?)"
        return state, status.get("error")

    def delete(self, record: ServiceRecord) -> None:
        self._stop_processes(record.home)
        shutil.rmtree(record.home, ignore_errors=True)

    def restart(self, record: ServiceRecord) -> None:
        """Returns once the service is Healthy again; DeploymentError says why not."""
        home = record.home
        self._stop_processes(home)
        spec = read_json(home / "desired.json")
        if spec is None:
            raise DeploymentError(
                f"Service '{record.name}' never finished deploying, so there is nothing to restart.",
                hint="Deploy it again with overwrite=True (CLI: --overwrite).",
            )
        if not Path(spec["python"]).exists():
            raise DeploymentError(
                f"The service's environment at {spec['python']} is gone.",
                hint="Redeploy with `modelport service update` to rebuild it.",
            )
        (home / "status.json").unlink(missing_ok=True)
        _spawn_supervisor(home)
        error = _await_update(home, spec.get("update_id"))
        if error is not None:
            raise WebserviceException(f"Restart failed: {error}")

    def process_ids(self, record: ServiceRecord) -> list[int]:
        pid = read_status(record.home).get("supervisor_pid")
        return [int(pid)] if pid else []

    # -- addresses, logs, credentials ---------------------------------------------------
    def scoring_uri(self, record: ServiceRecord) -> str:
        return f"{_base_url(record)}/score"

    def swagger_uri(self, record: ServiceRecord) -> str:
        return f"{_base_url(record)}/swagger.json"

    def logs(self, record: ServiceRecord, num_lines: int) -> str:
        return tail(record.home / LOG_NAME, num_lines)

    def read_log(self, record: ServiceRecord, offset: int) -> tuple[str, int]:
        try:
            with open(record.home / LOG_NAME, "rb") as f:
                f.seek(offset)
                chunk = f.read()
        except FileNotFoundError:
            return "", offset
        complete = chunk[: chunk.rfind(b"\n") + 1]
        return complete.decode(errors="replace"), offset + len(complete)

    def write_log(self, record: ServiceRecord, line: str) -> None:
        record.home.mkdir(parents=True, exist_ok=True)
        with open(record.home / LOG_NAME, "a", encoding="utf-8") as f:
            f.write(line.rstrip("\n") + "\n")

    def get_keys(self, record: ServiceRecord) -> tuple[str, str]:
        keys = credentials.read_keys(record.home / "keys.json")
        return keys["primary"], keys["secondary"]

    def regen_key(self, record: ServiceRecord, key: str, set_key: str | None) -> None:
        credentials.regen_key(record.home / "keys.json", key, set_key)

    def get_token(self, record: ServiceRecord) -> tuple[str, datetime]:
        return credentials.issue_token(record.home / "token_secret", record.name)

    # -- internals ----------------------------------------------------------------------
    def _stop_processes(self, home: Path) -> None:
        """SIGTERM the supervisor (it drains the server) and wait; then stop whatever of the
        service still runs (an orphaned server of a killed supervisor, a stuck worker) and
        return only once the port no longer answers."""
        status = read_status(home)
        pid = status.get("supervisor_pid")
        stopped_any = False
        if process_alive(pid, status.get("supervisor_started")):
            stopped_any = True
            proc = psutil.Process(pid)
            proc.send_signal(signal.SIGTERM)
            psutil.wait_procs([proc], timeout=70)
        leftovers = service_processes(status)
        for leftover in leftovers:
            stopped_any = True
            with contextlib.suppress(psutil.NoSuchProcess):
                leftover.terminate()
        _, alive = psutil.wait_procs(leftovers, timeout=10)
        for leftover in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                leftover.kill()
        psutil.wait_procs(alive, timeout=5)
        desired = read_json(home / "desired.json")
        if stopped_any and desired is not None:
            _wait_port_closed(str(desired["host"]), int(desired["port"]))

    def _prepare(
        self,
        record: ServiceRecord,
        spec: ServiceSpec,
        log: Log,
        data: dict[str, Any] | None = None,
    ) -> str:
        """Lay out the revision, build its environment, write its launch spec; return its id."""
        home = record.home
        data = data or record.data
        rev = home / f"rev-{spec.revision}"
        shutil.rmtree(rev, ignore_errors=True)
        app = rev / "app"
        ic = spec.inference_config
        source = Path(ic.source_directory) if ic.source_directory else None
        layout = copy_app(ic.script_path().resolve(), source, app, skip=[spec.workspace.path])
        log(f"app folder ready: {app}")
        place_models(spec.models, app / MODELS_FOLDER, log)

        environment = ic.resolve_environment()
        log(f"environment '{environment.name}': resolving")
        built = build_environment(
            environment,
            spec.workspace.path / "envs",
            log,
            resolve_nearest=spec.deployment_config.resolve_nearest,
        )
        log(
            f"environment '{environment.name}': {'reused' if built.reused else 'built'} at {built.path}"
        )

        dc = spec.deployment_config
        model_dir = model_dir_for(app, [(m.name, m.version) for m in spec.models])
        keys_file = token_file = None
        if dc.auth_enabled:
            credentials.ensure_keys(home / "keys.json", dc.primary_key, dc.secondary_key)
            keys_file = str(home / "keys.json")
        if dc.token_auth_enabled:
            credentials.ensure_token_secret(home / "token_secret")
            token_file = str(home / "token_secret")
        server = ServerConfig(
            entry_script=layout.entry_script,
            app_root=str(app),
            source_dir=layout.source_directory,
            model_dir=str(model_dir) if spec.models else None,
            host=str(data["host"]),
            workers=dc.workers,
            scoring_timeout_ms=dc.scoring_timeout_ms or ServerConfig.scoring_timeout_ms,
            max_concurrent_requests_per_container=dc.max_concurrent_requests_per_container,
            max_request_wait_time_ms=dc.max_request_wait_time,
            max_request_body_bytes=dc.max_request_body_bytes or ServerConfig.max_request_body_bytes,
            auth_keys_file=keys_file,
            token_secret_file=token_file,
            service_name=spec.name,
            data_collection_dir=str(home / "data-collection"),
            ssl_certfile=dc.ssl_cert_pem_file if dc.ssl_enabled else None,
            ssl_keyfile=dc.ssl_key_pem_file if dc.ssl_enabled else None,
        )
        if dc.ssl_enabled:  # fail the deploy, not the first handshake
            check_tls(server.ssl_certfile, server.ssl_keyfile)
        env = {
            **environment.environment_variables,
            **dc.environment_variables,
            "AZUREML_MODEL_DIR": "",  # never inherited from the caller's environment
            **server.script_env(),
        }
        update_id = uuid.uuid4().hex
        desired = {
            "update_id": update_id,
            "revision": spec.revision,
            "python": str(built.python),
            "app_root": str(app),
            "host": data["host"],
            "port": int(data["port"]),
            "server_args": server_args(server, keep=("host",)),
            "env": env,
        }
        write_json(rev / "desired.json", desired)
        write_json(home / "desired.json", desired)
        return update_id


def _base_url(record: ServiceRecord) -> str:
    host = record.data.get("host") or record.deployment_config.host
    port = record.data.get("port") or record.deployment_config.port
    scheme = "https" if record.deployment_config.ssl_enabled else "http"
    return f"{scheme}://{client_host(host)}:{port}"


def _await_update(home: Path, update_id: str | None, timeout: float = 900) -> str | None:
    """Wait until the supervisor reports on launch spec `update_id`: None if it serves,
    else the reason it failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = read_status(home)
        last = status.get("last_update") or {}
        if update_id is not None and last.get("update_id") == update_id:
            return last.get("error")
        if status.get("state") in (FAILED, "Unschedulable"):
            return str(status.get("error"))
        alive = process_alive(status.get("supervisor_pid"), status.get("supervisor_started"))
        if status.get("supervisor_pid") and not alive:
            return "the service supervisor exited; see the service log"
        time.sleep(0.05)
    return f"no answer from the service after {timeout:.0f}s"


def _spawn_supervisor(home: Path) -> None:
    """Start the supervisor detached (it outlives the CLI and its terminal)."""
    spawn_detached(
        [sys.executable, "-m", "modelport.targets.local.supervisor", str(home)],
        str(home / LOG_NAME),
    )
    # wait until it has claimed the status file, so state reads are never stale
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if read_status(home).get("supervisor_pid"):
            return
        time.sleep(0.02)
    raise DeploymentError(f"The service supervisor did not start; see {home / LOG_NAME}.")


def _wait_port_closed(host: str, port: int, timeout: float = 30) -> None:
    """Return once nothing accepts connections on the service's port any more."""
    address = client_host(host).strip("[]")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((address, port), timeout=1):
                pass
        except OSError:
            return
        if time.monotonic() > deadline:
            raise DeploymentError(
                f"Port {port} still answers after every process of the service stopped.",
                hint=f"Another process holds it; find it with `ss -ltnp 'sport = :{port}'`.",
            )
        time.sleep(0.05)


def _ready(record: ServiceRecord) -> bool:
    import http.client

    host = client_host(record.data.get("host")).strip("[]")
    conn: http.client.HTTPConnection
    if record.deployment_config.ssl_enabled:
        import ssl

        # a liveness probe of our own server: its certificate may name another host
        context = ssl._create_unverified_context()
        conn = http.client.HTTPSConnection(
            host, int(record.data["port"]), timeout=2, context=context
        )
    else:
        conn = http.client.HTTPConnection(host, int(record.data["port"]), timeout=2)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()
