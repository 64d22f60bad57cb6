"""The local target: a supervised process tree on this machine, no Docker.

Each revision gets its own app folder (the source directory copied, models hard-linked in the
`azureml-models/<name>/<version>/` layout) and a cached virtualenv; a detached supervisor
process keeps the port and runs the scoring server (see `supervisor.py`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from modelport.deploy import auth
from modelport.deploy.status import (
    FAILED,
    HEALTHY,
    STOPPED,
    TRANSITIONING,
    UNHEALTHY,
    process_alive,
    read_status,
    tail,
)
from modelport.deploy.target import DeploymentTarget, Log, ServiceSpec
from modelport.errors import DeploymentError, WebserviceException
from modelport.layout import MODELS_FOLDER, model_dir_for

_IGNORE = shutil.ignore_patterns("__pycache__", ".git", ".modelport", ".venv", "*.pyc")


class LocalTarget(DeploymentTarget):
    compute_type = "local"

    def deploy(self, spec: ServiceSpec, log: Log) -> None:
        self._prepare(spec, log)
        _spawn_supervisor(spec.folder)

    def update(self, spec: ServiceSpec, log: Log) -> None:
        """Returns once the new revision serves; on failure the old one's spec is restored
        (it keeps serving when it was) and DeploymentError says why."""
        previous = _read_json(spec.folder / "desired.json")
        update_id = self._prepare(spec, log)
        status = read_status(spec.folder)
        same_socket = previous is not None and (previous["host"], previous["port"]) == (
            spec.deployment_config.host,
            _port(spec),
        )
        running = process_alive(status.get("supervisor_pid"), status.get("supervisor_started"))
        if same_socket and running:
            os.kill(status["supervisor_pid"], signal.SIGHUP)
        else:  # not running, or moving to another port: a restart is the only way
            self.delete_processes(spec.folder)
            (spec.folder / "status.json").unlink(missing_ok=True)
            _spawn_supervisor(spec.folder)
        error = _await_update(spec.folder, update_id)
        if error is None:
            return
        if previous is not None:
            _write_json(spec.folder / "desired.json", previous)
        shutil.rmtree(spec.folder / f"rev-{spec.revision}", ignore_errors=True)
        kept = (
            "the previous revision keeps serving"
            if same_socket and running
            else "the service is down"
        )
        raise WebserviceException(
            f"Update to revision {spec.revision} failed ({kept}): {error}",
            hint=f"See the log: modelport service logs {spec.name}",
        )

    def state(self, folder: Path, port: int | None) -> tuple[str, str | None]:
        status = read_status(folder)
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
        if state == HEALTHY and port is not None and not _ready(port):
            return UNHEALTHY, "the scoring server is not ready (a worker is restarting?)"
        return state, status.get("error")

    def logs(self, folder: Path, num_lines: int) -> str:
        return tail(folder / "service.log", num_lines)

    def delete(self, folder: Path) -> None:
        self.delete_processes(folder)
        shutil.rmtree(folder, ignore_errors=True)

    def restart(self, folder: Path) -> None:
        """Returns once the service is Healthy again; DeploymentError says why not."""
        self.delete_processes(folder)
        spec = _read_json(folder / "desired.json")
        if spec is None:
            raise DeploymentError(f"Service folder {folder} has no deployment to restart.")
        if not Path(spec["python"]).exists():
            raise DeploymentError(
                f"The service's environment at {spec['python']} is gone.",
                hint="Redeploy with `modelport service update` to rebuild it.",
            )
        (folder / "status.json").unlink(missing_ok=True)
        _spawn_supervisor(folder)
        error = _await_update(folder, spec.get("update_id"))
        if error is not None:
            raise WebserviceException(f"Restart failed: {error}")

    def delete_processes(self, folder: Path) -> None:
        """SIGTERM the supervisor (it drains the server) and wait; SIGKILL the group if stuck."""
        status = read_status(folder)
        pid = status.get("supervisor_pid")
        if not process_alive(pid, status.get("supervisor_started")):
            return
        import psutil

        proc = psutil.Process(pid)
        children = proc.children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs([proc], timeout=70)
        for p in [*alive, *children]:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(children, timeout=5)

    # -- preparing a revision -----------------------------------------------------------
    def _prepare(self, spec: ServiceSpec, log: Log) -> str:
        """Lay out the revision, build its environment, write its launch spec; return its id."""
        from modelport.environments.build import build_environment

        rev = spec.folder / f"rev-{spec.revision}"
        shutil.rmtree(rev, ignore_errors=True)
        app = rev / "app"
        ic = spec.inference_config
        script = ic.script_path().resolve()
        if ic.source_directory:
            shutil.copytree(ic.source_directory, app, ignore=_IGNORE)
            entry = script.relative_to(Path(ic.source_directory).resolve()).as_posix()
        else:
            app.mkdir(parents=True)
            shutil.copy2(script, app / script.name)
            entry = script.name
        log(f"app folder ready: {app}")
        for model in spec.models:
            model._materialize(app / MODELS_FOLDER)
            log(f"model {model.id} linked into {MODELS_FOLDER}/{model.name}/{model.version}")

        environment = ic.resolve_environment()
        log(f"environment '{environment.name}': resolving")
        built = build_environment(environment, spec.workspace.path / "envs", log)
        log(
            f"environment '{environment.name}': {'reused' if built.reused else 'built'} at {built.path}"
        )

        dc = spec.deployment_config
        model_dir = model_dir_for(app, [(m.name, m.version) for m in spec.models])
        args = [
            "--entry-script",
            entry,
            "--app-root",
            str(app),
            "--host",
            dc.host,
            "--service-name",
            spec.name,
        ]
        if spec.models:
            args += ["--model-dir", str(model_dir)]
        for flag, value in (
            ("--workers", dc.workers),
            ("--scoring-timeout-ms", dc.scoring_timeout_ms),
            ("--max-concurrent-requests-per-container", dc.max_concurrent_requests_per_container),
            ("--max-request-wait-time", dc.max_request_wait_time),
        ):
            if value is not None:
                args += [flag, str(value)]
        if dc.auth_enabled:
            auth.ensure_keys(spec.folder / "keys.json", dc.primary_key, dc.secondary_key)
            args += ["--auth-keys-file", str(spec.folder / "keys.json")]
        if dc.token_auth_enabled:
            auth.ensure_token_secret(spec.folder / "token_secret")
            args += ["--token-secret-file", str(spec.folder / "token_secret")]
        env = {
            **environment.environment_variables,
            **dc.environment_variables,
            "AZUREML_MODEL_DIR": str(model_dir) if spec.models else "",
            "AML_APP_ROOT": str(app),
            "AZUREML_ENTRY_SCRIPT": entry,
            "SERVICE_NAME": spec.name,
            "MODELPORT_DATA_COLLECTION_DIR": str(spec.folder / "data-collection"),
        }
        update_id = uuid.uuid4().hex
        desired = {
            "update_id": update_id,
            "revision": spec.revision,
            "python": str(built.python),
            "app_root": str(app),
            "host": dc.host,
            "port": _port(spec),
            "server_args": args,
            "env": env,
        }
        _write_json(rev / "desired.json", desired)
        _write_json(spec.folder / "desired.json", desired)
        return update_id


def _port(spec: ServiceSpec) -> int:
    port = spec.deployment_config.port
    assert port is not None, "the port is chosen before preparing"
    return port


def _await_update(folder: Path, update_id: str | None, timeout: float = 900) -> str | None:
    """Wait until the supervisor reports on launch spec `update_id`: None if it serves,
    else the reason it failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = read_status(folder)
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


def _spawn_supervisor(folder: Path) -> None:
    """Start the supervisor detached: through a short-lived launcher, so it is reparented
    away from this process (never our zombie) and outlives the CLI and its terminal."""
    launcher = (
        "import subprocess, sys\n"
        "subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=sys.stdout, "
        "stderr=sys.stderr, start_new_session=True)"
    )
    with open(folder / "service.log", "ab") as log:
        subprocess.run(
            [
                sys.executable,
                "-c",
                launcher,
                sys.executable,
                "-m",
                "modelport.deploy.supervisor",
                str(folder),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            check=True,
        )
    # wait until it has claimed the status file, so state reads are never stale
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if read_status(folder).get("supervisor_pid"):
            return
        time.sleep(0.02)
    raise DeploymentError(f"The service supervisor did not start; see {folder / 'service.log'}.")


def _ready(port: int) -> bool:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except FileNotFoundError:
        return None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)
