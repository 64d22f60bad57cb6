"""The container target: each revision of a service is an image and a container on a Docker or
Podman engine, with the CPU and memory limits enforced by the engine.

Traffic: a small host process (`portkeeper.py`) owns the service's port and hands the
listening socket to the containers over a mounted unix socket; every revision's scoring server
accepts on that one socket. An update starts the new container beside the old one, waits until
every worker has finished `init()` (its ready file appears in the mounted run folder), then
stops the old one, which drains. The switch is atomic because nothing switches: connections
wait in one kernel backlog that both revisions accept from. No proxy copies the bytes.

Files in the service's home: `port.json` / `portkeeper.json` (the port owner), `current.json`
(the serving revision's container and image), `run/` (mounted: the socket and ready files),
`secrets/` (mounted read-only: keys, token secret, TLS files), `service.log`, `rev-N/context`.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from modelport import settings
from modelport._jsonfile import read_json, write_json
from modelport._net import client_host
from modelport.deploy import credentials
from modelport.deploy.logfile import append_line, read_from, tail
from modelport.deploy.placement import machine_problem, place_here
from modelport.deploy.states import FAILED, HEALTHY, TRANSITIONING, UNHEALTHY
from modelport.deploy.target import DeploymentTarget, Log, ServiceRecord, ServiceSpec
from modelport.errors import DeploymentError, InvalidArgument, WebserviceException
from modelport.packaging import containers as images
from modelport.packaging import engine
from modelport.packaging.context import plan_context, write_context
from modelport.scoring.config import ServerConfig, check_tls, server_command
from modelport.targets.container import containers
from modelport.targets.container.portkeeper import SOCKET_NAME

LOG_NAME = "service.log"
RUN_MOUNT = "/run/modelport"
SECRETS_MOUNT = "/run/modelport-secrets"
DATA_COLLECTION_MOUNT = "/var/azureml-app/data-collection"


@dataclass(frozen=True)
class Revision:
    """One running revision: its container, image and the ready file its server writes."""

    revision: int
    container: str
    image: str
    ready_file: str  # name inside run/

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ContainerTarget(DeploymentTarget):
    compute_type = "container"

    # -- placing ------------------------------------------------------------------------
    def unavailable(self, workspace: Any) -> str | None:
        problem = engine.engine_problem(workspace)
        if problem is None:
            return None
        return f"no container engine answers: {problem}. {engine.INSTALL_HINT}"

    def unschedulable(self, spec: ServiceSpec) -> str | None:
        return machine_problem(spec.deployment_config)

    def place(self, spec: ServiceSpec, home: Path) -> dict[str, Any]:
        return place_here(spec.deployment_config)

    # -- lifecycle ----------------------------------------------------------------------
    def deploy(self, record: ServiceRecord, spec: ServiceSpec, log: Log) -> None:
        client = _client(spec.workspace)
        image = self._build(record, spec, log, client)
        self._secrets(record, spec)
        _ensure_portkeeper(record.home, record.data)
        rev = self._start(record, spec, image, client, log)
        write_json(record.home / "current.json", rev.to_dict())

    def update(self, record: ServiceRecord, spec: ServiceSpec, log: Log) -> dict[str, Any]:
        """Returns once the new revision serves and the old one is draining; on failure the
        old one keeps serving and WebserviceException says why."""
        client = _client(spec.workspace)
        data = {"host": spec.deployment_config.host, "port": spec.deployment_config.port}
        data["port"] = data["port"] or record.data.get("port")
        if (data["host"], data["port"]) != (record.data.get("host"), record.data.get("port")):
            raise InvalidArgument(
                "A container service keeps its host and port across updates.",
                hint="Deploy a new service on the other port, then delete this one.",
            )
        old = _current(record.home)
        image = self._build(record, spec, log, client)
        self._secrets(record, spec)
        _ensure_portkeeper(record.home, record.data)
        new = self._start(record, spec, image, client, log)
        error = self._await_ready(record, new, client)
        if error is not None:
            tail = containers.container_logs(client, new.container, 20)
            containers.stop_and_remove(client, new.container, timeout=5)
            if old is None or old.image != new.image:
                with images.image_lock(spec.workspace):
                    containers.remove_image(client, new.image)
            kept = "the previous revision keeps serving" if old else "the service is down"
            log(f"update to revision {spec.revision} failed: {error}")
            raise WebserviceException(
                f"Update to revision {spec.revision} failed ({kept}): {error}",
                hint=f"Last container log lines:\n{tail}",
            )
        write_json(record.home / "current.json", new.to_dict())
        if old is not None:
            log(f"revision {spec.revision} serving; draining revision {old.revision}")
            containers.stop_and_remove(client, old.container)
            with images.image_lock(spec.workspace):
                containers.remove_image(client, old.image)
            (record.home / "run" / old.ready_file).unlink(missing_ok=True)
        log(f"update: revision {spec.revision} serving")
        return data

    def state(self, record: ServiceRecord) -> tuple[str, str | None]:
        rev = _current(record.home)
        if rev is None:
            return TRANSITIONING, None
        client = _client(record.workspace)
        observed = containers.observe(client, rev.container)
        if observed.status == "missing":
            return UNHEALTHY, f"the container {rev.container} is gone (removed outside modelport?)"
        if observed.status in ("exited", "stopped", "dead"):
            tail = containers.container_logs(client, rev.container, 20)
            reason = containers.failure_reason(observed, tail)
            return FAILED, f"{reason}\nLast container log lines:\n{tail.rstrip()}"
        if observed.status != "running":
            return TRANSITIONING, None
        if not (record.home / "run" / rev.ready_file).exists():
            return TRANSITIONING, None
        if not _portkeeper_alive(record.home):
            return UNHEALTHY, "the process that owns the service's port is not running"
        return HEALTHY, None

    def delete(self, record: ServiceRecord) -> None:
        """Container, image tags (with their build steps), port owner and folder; the port
        owner stops even when the engine fails, and the folder stays until the engine
        cleanup succeeded, so a second delete finishes the job."""
        try:
            client = _client(record.workspace)
            rev = _current(record.home)
            if rev is not None:
                containers.stop_and_remove(client, rev.container, timeout=10)
            with images.image_lock(record.workspace):
                containers.remove_everything(client, record.name, str(record.workspace.path))
        finally:
            _stop_portkeeper(record.home)
        shutil.rmtree(record.home, ignore_errors=True)

    def restart(self, record: ServiceRecord) -> None:
        """Start the last revision's image again in a new container; returns once Healthy."""
        rev = _current(record.home)
        if rev is None:
            raise DeploymentError(f"Service '{record.name}' has no revision to restart.")
        client = _client(record.workspace)
        containers.stop_and_remove(client, rev.container, timeout=10)
        _ensure_portkeeper(record.home, record.data)
        launch = read_json(record.home / f"rev-{rev.revision}" / "launch.json")
        if launch is None:
            raise DeploymentError(f"Service '{record.name}' lost its launch spec; redeploy it.")
        new = self._run(record, rev.revision, rev.image, launch, client)
        write_json(record.home / "current.json", new.to_dict())
        error = self._await_ready(record, new, client)
        if error is not None:
            raise WebserviceException(f"Restart failed: {error}")

    def certificate_file(self, record: ServiceRecord) -> Path | None:
        found = record.home / "secrets" / "tls.crt"  # the copy the container serves
        return found if record.deployment_config.ssl_enabled and found.is_file() else None

    def process_ids(self, record: ServiceRecord) -> list[int]:
        rev = _current(record.home)
        if rev is None:
            return []
        observed = containers.observe(_client(record.workspace), rev.container)
        return [observed.pid] if observed.pid else []

    # -- addresses, logs, credentials ---------------------------------------------------
    def scoring_uri(self, record: ServiceRecord) -> str:
        return f"{_base_url(record)}/score"

    def swagger_uri(self, record: ServiceRecord) -> str:
        return f"{_base_url(record)}/swagger.json"

    def logs(self, record: ServiceRecord, num_lines: int) -> str:
        deploy_lines = tail(record.home / LOG_NAME, num_lines)
        rev = _current(record.home)
        if rev is None:
            return deploy_lines
        output = containers.container_logs(_client(record.workspace), rev.container, num_lines)
        return f"{deploy_lines}\n--- container {rev.container} ---\n{output}".strip("\n")

    def read_log(self, record: ServiceRecord, offset: int) -> tuple[str, int]:
        return read_from(record.home / LOG_NAME, offset)

    def write_log(self, record: ServiceRecord, line: str) -> None:
        append_line(record.home / LOG_NAME, line)

    def get_keys(self, record: ServiceRecord) -> tuple[str, str]:
        keys = credentials.read_keys(record.home / "secrets" / "keys.json")
        return keys["primary"], keys["secondary"]

    def regen_key(self, record: ServiceRecord, key: str, set_key: str | None) -> None:
        # the file is mounted (its folder, so the rename is seen): the server re-reads it
        credentials.regen_key(record.home / "secrets" / "keys.json", key, set_key)

    def get_token(self, record: ServiceRecord) -> tuple[str, datetime]:
        return credentials.issue_token(record.home / "secrets" / "token_secret", record.name)

    # -- internals ----------------------------------------------------------------------
    def _build(self, record: ServiceRecord, spec: ServiceSpec, log: Log, client: Any) -> str:
        """Build revision `spec.revision`'s image (cached layers make a rebuild quick)."""
        context = record.home / f"rev-{spec.revision}" / "context"
        shutil.rmtree(context, ignore_errors=True)
        plan = plan_context(
            spec.models,
            spec.inference_config,
            resolve_nearest=spec.deployment_config.resolve_nearest,
        )
        write_context(
            plan,
            context,
            spec.workspace.path / "cache" / "wheels",
            log,
            exclude=[spec.workspace.path],
        )
        reference = containers.image_reference(spec.name, str(spec.workspace.path), spec.revision)
        labels = containers.labels(spec.name, str(spec.workspace.path), spec.revision)
        started = time.monotonic()
        log(f"building image {reference} FROM {plan.base_image}")
        images.build_layered(
            client, spec.workspace, context, reference, log, labels, plan.base_image
        )
        log(f"image {reference} ready in {time.monotonic() - started:.1f}s")
        return reference

    def _secrets(self, record: ServiceRecord, spec: ServiceSpec) -> None:
        """Keys, token secret and TLS files in the folder mounted read-only into containers."""
        dc = spec.deployment_config
        secrets = record.home / "secrets"
        secrets.mkdir(mode=0o700, exist_ok=True)
        if dc.auth_enabled:
            credentials.ensure_keys(secrets / "keys.json", dc.primary_key, dc.secondary_key)
        if dc.token_auth_enabled:
            credentials.ensure_token_secret(secrets / "token_secret")
        if dc.ssl_enabled:
            check_tls(dc.ssl_cert_pem_file, dc.ssl_key_pem_file)
            assert dc.ssl_cert_pem_file and dc.ssl_key_pem_file
            for source, name in (
                (dc.ssl_cert_pem_file, "tls.crt"),
                (dc.ssl_key_pem_file, "tls.key"),
            ):
                shutil.copyfile(source, secrets / name)
                (secrets / name).chmod(0o600)

    def _start(
        self, record: ServiceRecord, spec: ServiceSpec, image: str, client: Any, log: Log
    ) -> Revision:
        dc = spec.deployment_config
        workers = dc.workers or (max(1, int(dc.cpu_cores)) if dc.cpu_cores else None)
        server = ServerConfig(
            host="0.0.0.0",
            listen_from=f"{RUN_MOUNT}/{SOCKET_NAME}",
            workers=workers,
            scoring_timeout_ms=dc.scoring_timeout_ms or ServerConfig.scoring_timeout_ms,
            max_concurrent_requests_per_container=dc.max_concurrent_requests_per_container,
            max_request_wait_time_ms=dc.max_request_wait_time,
            auth_keys_file=f"{SECRETS_MOUNT}/keys.json" if dc.auth_enabled else None,
            token_secret_file=f"{SECRETS_MOUNT}/token_secret" if dc.token_auth_enabled else None,
            ssl_certfile=f"{SECRETS_MOUNT}/tls.crt" if dc.ssl_enabled else None,
            ssl_keyfile=f"{SECRETS_MOUNT}/tls.key" if dc.ssl_enabled else None,
            service_name=spec.name,
        )
        launch = {
            "command": server_command(server),
            "environment": {**dc.environment_variables, "SERVICE_NAME": spec.name},
            "cpu_cores": dc.cpu_cores,
            "memory_gb": dc.memory_gb,
        }
        write_json(record.home / f"rev-{spec.revision}" / "launch.json", launch)
        rev = self._run(record, spec.revision, image, launch, client)
        limits = f"cpu {dc.cpu_cores or 'unlimited'}, memory {dc.memory_gb or 'unlimited'} GB"
        log(f"revision {spec.revision}: container {rev.container} starting ({limits})")
        return rev

    def _run(
        self, record: ServiceRecord, revision: int, image: str, launch: dict[str, Any], client: Any
    ) -> Revision:
        attempt = uuid.uuid4().hex[:6]
        ready = f"ready-{revision}-{attempt}"
        name = containers.container_name(record.name, str(record.workspace.path), revision, attempt)
        (record.home / "data-collection").mkdir(exist_ok=True)
        mounts = {
            str(record.home / "run"): (RUN_MOUNT, "rw"),
            str(record.home / "secrets"): (SECRETS_MOUNT, "ro"),
            str(record.home / "data-collection"): (DATA_COLLECTION_MOUNT, "rw"),
        }
        command = [*launch["command"], "--ready-file", f"{RUN_MOUNT}/{ready}"]
        containers.run_container(
            client,
            name,
            image,
            command,
            launch["environment"],
            mounts,
            containers.labels(record.name, str(record.workspace.path), revision),
            launch["cpu_cores"],
            launch["memory_gb"],
        )
        return Revision(revision, name, image, ready)

    def _await_ready(self, record: ServiceRecord, rev: Revision, client: Any) -> str | None:
        timeout = float(settings.get("MODELPORT_READY_TIMEOUT_S"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (record.home / "run" / rev.ready_file).exists():
                return None
            observed = containers.observe(client, rev.container)
            if observed.status in ("exited", "stopped", "dead", "missing"):
                tail = containers.container_logs(client, rev.container, 20)
                return containers.failure_reason(observed, tail)
            time.sleep(0.05)
        return f"not ready after {timeout:.0f}s (is init() stuck?)"


# -- the port owner ---------------------------------------------------------------------------
def _ensure_portkeeper(home: Path, data: dict[str, Any]) -> None:
    """Start the port's owner unless it runs; DeploymentError when it cannot bind."""
    if _portkeeper_alive(home):
        return
    (home / "run").mkdir(exist_ok=True)
    (home / "portkeeper.json").unlink(missing_ok=True)
    write_json(home / "port.json", {"host": data["host"], "port": int(data["port"])})
    launcher = (
        "import subprocess, sys\n"
        "subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=sys.stdout, "
        "stderr=sys.stderr, start_new_session=True)"
    )
    module = "modelport.targets.container.portkeeper"
    with open(home / LOG_NAME, "ab") as log:
        subprocess.run(
            [sys.executable, "-c", launcher, sys.executable, "-m", module, str(home)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            check=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = read_json(home / "portkeeper.json")
        if status is not None:
            if status.get("error"):
                raise DeploymentError(f"Cannot serve the service: {status['error']}.")
            return
        time.sleep(0.02)
    raise DeploymentError(f"The service's port owner did not start; see {home / LOG_NAME}.")


def _portkeeper_alive(home: Path) -> bool:
    status = read_json(home / "portkeeper.json")
    if not status or status.get("error") or not status.get("pid"):
        return False
    try:
        proc = psutil.Process(int(status["pid"]))
        return (
            proc.status() != psutil.STATUS_ZOMBIE
            and abs(proc.create_time() - float(status["started"])) < 1.0
        )
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _stop_portkeeper(home: Path) -> None:
    if not _portkeeper_alive(home):
        return
    status = read_json(home / "portkeeper.json") or {}
    proc = psutil.Process(int(status["pid"]))
    proc.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs([proc], timeout=10)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


# -- helpers ----------------------------------------------------------------------------------
def _client(workspace: Any) -> Any:
    return engine.connect(workspace)  # one kept client per engine address


def _current(home: Path) -> Revision | None:
    data = read_json(home / "current.json")
    return Revision(**data) if data else None


def _base_url(record: ServiceRecord) -> str:
    host = record.data.get("host") or record.deployment_config.host
    port = record.data.get("port") or record.deployment_config.port
    scheme = "https" if record.deployment_config.ssl_enabled else "http"
    name = record.deployment_config.ssl_cname if record.deployment_config.ssl_enabled else None
    return f"{scheme}://{name or client_host(host)}:{port}"
