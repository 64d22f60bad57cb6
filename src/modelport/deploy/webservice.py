"""`Webservice`: a deployed model service, with the v1 SDK's names.

The service's configuration lives in the workspace's metadata store (kind "service"); its
runtime status comes from its target. `Model.deploy` and `service.update` go through
`deploy_service` / `Webservice.update`, which pick the target from the deployment config.
"""

from __future__ import annotations

import builtins
import dataclasses
import re
import shutil
import socket
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport._locks import named_lock
from modelport.deploy import auth
from modelport.deploy.config import DeploymentConfig, InferenceConfig
from modelport.deploy.status import FAILED, HEALTHY, TRANSITIONING, UNSCHEDULABLE
from modelport.deploy.target import ServiceSpec, get_target
from modelport.errors import AlreadyExists, InvalidArgument, NotFound, WebserviceException

if TYPE_CHECKING:
    from modelport.registry.models import Model
    from modelport.workspace import Workspace

KIND = "service"
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")


class ServiceNotFound(NotFound, WebserviceException):
    """No service by that name (also a WebserviceException, as v1 code catches that)."""


class Webservice:
    """A handle on one deployed service: `Webservice(ws, name)`."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name
        try:
            self._doc = workspace.store.get_document(KIND, name)
        except NotFound:
            raise ServiceNotFound(
                f"Service '{name}' does not exist in this workspace.",
                hint="List services with `modelport service list`.",
            ) from None

    # -- listing ------------------------------------------------------------------------
    @staticmethod
    def list(
        workspace: Workspace, compute_type: str | None = None, **_unused: Any
    ) -> list[Webservice]:
        services = [Webservice(workspace, d["name"]) for d in workspace.store.list_documents(KIND)]
        return [
            s for s in services if compute_type is None or s.compute_type == compute_type.lower()
        ]

    # -- attributes ---------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return self.workspace.path / "services" / self.name

    @property
    def compute_type(self) -> str:
        return str(self._doc["deployment_config"]["compute_type"])

    @property
    def deployment_config(self) -> DeploymentConfig:
        return DeploymentConfig.from_dict(self._doc["deployment_config"])

    @property
    def inference_config(self) -> InferenceConfig:
        return InferenceConfig.from_dict(self._doc["inference_config"])

    @property
    def port(self) -> int:
        return int(self._doc["deployment_config"]["port"])

    @property
    def models(self) -> builtins.list[Model]:
        from modelport.registry.models import Model

        return [Model(self.workspace, id=m) for m in self._doc["models"]]

    @property
    def auth_enabled(self) -> bool:
        return bool(self._doc["deployment_config"]["auth_enabled"])

    @property
    def token_auth_enabled(self) -> bool:
        return bool(self._doc["deployment_config"]["token_auth_enabled"])

    @property
    def scoring_uri(self) -> str:
        return f"http://{self._client_host()}:{self.port}/score"

    @property
    def swagger_uri(self) -> str:
        return f"http://{self._client_host()}:{self.port}/swagger.json"

    @property
    def description(self) -> str | None:
        return self._doc.get("description")

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._doc.get("tags") or {})

    @property
    def created_time(self) -> datetime:
        return datetime.fromtimestamp(self._doc["created_time"]).astimezone()

    @property
    def state(self) -> str:
        return self._live_state()[0]

    @property
    def error(self) -> str | None:
        return self._live_state()[1]

    def _live_state(self) -> tuple[str, str | None]:
        if self._doc.get("state") in (FAILED, UNSCHEDULABLE):
            return self._doc["state"], self._doc.get("error")
        if self._doc.get("state") == TRANSITIONING and not (self.folder / "status.json").exists():
            return TRANSITIONING, None
        return get_target(self.compute_type).state(self.folder, self.port)

    def _client_host(self) -> str:
        host = self._doc["deployment_config"].get("host") or "127.0.0.1"
        if host in ("0.0.0.0", ""):
            return "127.0.0.1"
        if host == "::":
            return "[::1]"
        return f"[{host}]" if ":" in host else host

    # -- lifecycle ----------------------------------------------------------------------
    def wait_for_deployment(
        self, show_output: bool = False, timeout_sec: float | None = None
    ) -> None:
        """Block until the service is Healthy; raise with the log tail if it fails."""
        deadline = time.monotonic() + (timeout_sec or 900)
        last = None
        offset = 0
        while True:
            self._refresh()
            state, error = self._live_state()
            if show_output:
                offset = _echo_new_lines(self.folder / "service.log", offset)
                if state != last:
                    print(f"{self.name}: {state}" + (f" ({error})" if error else ""), flush=True)
                    last = state
            if state != TRANSITIONING:
                break
            if time.monotonic() > deadline:
                raise WebserviceException(
                    f"Service '{self.name}' is still {state} after {timeout_sec}s."
                )
            time.sleep(0.05)
        if state != HEALTHY:
            logs = self.get_logs(num_lines=20)
            raise WebserviceException(
                f"Service '{self.name}' deployment ended in state {state}: {error}.\n"
                f"Last log lines:\n{logs}"
            )

    def get_logs(self, num_lines: int = 5000, init: bool = False) -> str:
        return get_target(self.compute_type).logs(self.folder, num_lines)

    def run(self, input_data: Any) -> Any:
        """Score `input_data` (a JSON string or a JSON-able object); return the decoded answer."""
        import httpx

        body = input_data if isinstance(input_data, str | bytes) else _json_dumps(input_data)
        headers = {"Content-Type": "application/json"}
        if self.auth_enabled:
            headers["Authorization"] = f"Bearer {self.get_keys()[0]}"
        elif self.token_auth_enabled:
            headers["Authorization"] = f"Bearer {self.get_token()[0]}"
        response = httpx.post(self.scoring_uri, content=body, headers=headers, timeout=300)
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        if response.status_code >= 400:
            message = payload.get("message") if isinstance(payload, dict) else payload
            raise WebserviceException(
                f"Service '{self.name}' answered {response.status_code}: {message}"
            )
        return payload

    def update(
        self,
        models: Sequence[Model | str] | None = None,
        inference_config: InferenceConfig | None = None,
        deployment_config: DeploymentConfig | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        auth_enabled: bool | None = None,
        token_auth_enabled: bool | None = None,
        show_output: bool = False,
        **_unused: Any,
    ) -> None:
        """Roll out a new revision: it starts beside the old one, which drains once it is ready."""
        with _service_lock(self.workspace, self.name):
            self._refresh()
            dc = (
                _runnable_here(deployment_config, self.name)
                if deployment_config
                else self.deployment_config
            )
            changes: dict[str, Any] = {"port": dc.port or self.port}  # a new config keeps the port
            if auth_enabled is not None:
                changes["auth_enabled"] = auth_enabled
            if token_auth_enabled is not None:
                changes["token_auth_enabled"] = token_auth_enabled
            # replace() validates again and leaves the caller's config untouched
            dc = dataclasses.replace(dc, **changes)
            ic = inference_config or self.inference_config
            resolved = (
                _resolve_models(self.workspace, models) if models is not None else self.models
            )
            revision = int(self._doc["revision"]) + 1
            spec = ServiceSpec(self.workspace, self.name, self.folder, revision, resolved, ic, dc)
            log = _service_log(self.folder, show_output)
            try:
                get_target(dc.compute_type).update(spec, log)
            except Exception as exc:
                log(f"update failed: {exc}")
                raise
            self._doc.update(
                models=[m.id for m in resolved],
                inference_config=ic.to_dict(),
                deployment_config=dc.to_dict(),
                revision=revision,
                state=HEALTHY,
                error=None,
                updated_time=time.time(),
            )
            if description is not None:
                self._doc["description"] = description
            if tags is not None:
                self._doc["tags"] = tags
            self.workspace.store.put_document(KIND, self.name, self._doc)

    def reload(self) -> None:
        """Re-read the service's record (v1's `reload` refreshes the object's fields)."""
        self._refresh()

    def restart(self) -> None:
        """Start a stopped or crashed service again from its last revision."""
        with _service_lock(self.workspace, self.name):
            get_target(self.compute_type).restart(self.folder)

    def delete(self) -> None:
        """Stop every process, free the port and forget the service."""
        with _service_lock(self.workspace, self.name):
            self._refresh()
            get_target(self.compute_type).delete(self.folder)
            self.workspace.store.delete_document(KIND, self.name)

    def _refresh(self) -> None:
        try:
            self._doc = self.workspace.store.get_document(KIND, self.name)
        except NotFound:
            raise ServiceNotFound(
                f"Service '{self.name}' does not exist (was it deleted?).",
                hint="List services with `modelport service list`.",
            ) from None

    # -- auth ---------------------------------------------------------------------------
    def get_keys(self) -> tuple[str, str]:
        if not self.auth_enabled:
            raise WebserviceException(f"Key auth is not enabled on service '{self.name}'.")
        keys = auth.read_keys(self.folder / "keys.json")
        return keys["primary"], keys["secondary"]

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        if not self.auth_enabled:
            raise WebserviceException(f"Key auth is not enabled on service '{self.name}'.")
        auth.regen_key(self.folder / "keys.json", key, set_key)

    def get_token(self) -> tuple[str, datetime]:
        """(token, refresh_after): a signed JWT; request a new one after `refresh_after`."""
        if not self.token_auth_enabled:
            raise WebserviceException(f"Token auth is not enabled on service '{self.name}'.")
        return auth.issue_token(self.folder / "token_secret", self.name)

    def serialize(self) -> dict[str, Any]:
        state, error = self._live_state()
        return {
            "name": self.name,
            "state": state,
            "error": error,
            "compute_type": self.compute_type,
            "scoring_uri": self.scoring_uri,
            "swagger_uri": self.swagger_uri,
            "models": list(self._doc["models"]),
            "revision": self._doc["revision"],
            "auth_enabled": self.auth_enabled,
            "token_auth_enabled": self.token_auth_enabled,
            "created_time": self.created_time.isoformat(timespec="seconds"),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace!r}, name={self.name!r})"


# -- deployment ----------------------------------------------------------------------------
def deploy_service(
    workspace: Workspace,
    name: str,
    models: Sequence[Model | str],
    inference_config: InferenceConfig | None,
    deployment_config: DeploymentConfig | None,
    overwrite: bool = False,
    show_output: bool = False,
) -> Webservice:
    """Model.deploy's engine: record the service, prepare it, start it on its target."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidArgument(
            f"Invalid service name {name!r}: use 3-32 characters, lowercase letters, digits and "
            "dashes, starting with a letter and ending with a letter or digit."
        )
    resolved = _resolve_models(workspace, models)
    if inference_config is None or inference_config.entry_script is None:
        # no-code deployment: the model's framework picks a built-in runtime (or says why not)
        from modelport.runtimes import no_code_config

        environment = inference_config.environment if inference_config is not None else None
        inference_config, deployment_config = no_code_config(
            resolved, deployment_config, environment
        )
    dc = _runnable_here(deployment_config or DeploymentConfig(), name)
    with _service_lock(workspace, name):
        try:
            existing = Webservice(workspace, name)
        except NotFound:
            existing = None
        if existing is not None:
            if not overwrite:
                raise AlreadyExists(
                    f"Service '{name}' already exists.",
                    hint="Pass overwrite=True to replace it, call service.update(...), or pick another name.",
                )
            get_target(existing.compute_type).delete(existing.folder)
            workspace.store.delete_document(KIND, name)
        dc.port = dc.port or _free_port(dc.host)
        folder = workspace.path / "services" / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        doc = {
            "name": name,
            "models": [m.id for m in resolved],
            "inference_config": inference_config.to_dict(),
            "deployment_config": dc.to_dict(),
            "revision": 1,
            "state": TRANSITIONING,
            "error": None,
            "description": dc.description,
            "tags": dc.tags,
            "created_time": time.time(),
            "updated_time": time.time(),
        }
        unschedulable = _unschedulable_reason(dc)
        if unschedulable is not None:
            doc.update(state=UNSCHEDULABLE, error=unschedulable)
        workspace.store.put_document(KIND, name, doc)
        if unschedulable is not None:
            raise WebserviceException(
                f"Service '{name}' is Unschedulable: {unschedulable}.",
                hint="Change the deployment config and deploy again with overwrite=True.",
            )
        spec = ServiceSpec(workspace, name, folder, 1, resolved, inference_config, dc)
        log = _service_log(folder, show_output)
        try:
            get_target(dc.compute_type).deploy(spec, log)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log(f"deployment failed: {reason}")
            doc.update(state=FAILED, error=reason)
            workspace.store.put_document(KIND, name, doc)
            if not isinstance(exc, InvalidArgument | NotFound):
                raise WebserviceException(f"Deploying service '{name}' failed: {reason}") from exc
            raise
    return _typed(workspace, name)


def _typed(workspace: Workspace, name: str) -> Webservice:
    from modelport.deploy.webservices import LocalWebservice

    return LocalWebservice(workspace, name)


def _resolve_models(workspace: Workspace, models: Sequence[Model | str]) -> list[Model]:
    from modelport.registry.models import Model

    resolved: list[Model] = []
    for item in models or []:
        if isinstance(item, Model):
            resolved.append(Model(workspace, item.name, version=item.version))  # still registered?
        else:
            resolved.append(Model(workspace, id=str(item)))
    names = [m.name for m in resolved]
    if len(set(names)) != len(names):
        raise InvalidArgument("A service cannot hold two versions of the same model.")
    return resolved


class TargetFallbackWarning(UserWarning):
    """A container or Kubernetes deployment config ran as a local service."""


def _runnable_here(dc: DeploymentConfig, name: str) -> DeploymentConfig:
    """Container (v1 ACI) and Kubernetes (v1 AKS) configs run as local services until those
    targets are configured, so v1 notebooks deploy unchanged; the warning says so."""
    if dc.compute_type == "local":
        return dc
    import warnings

    v1_name = {"container": "ACI", "kubernetes": "AKS"}.get(dc.compute_type, dc.compute_type)
    warnings.warn(
        f"No {dc.compute_type} target is configured in this workspace; service '{name}' runs "
        f"as a local service with the same settings (the {v1_name} config's auth, keys, "
        "timeouts and resources apply).",
        TargetFallbackWarning,
        stacklevel=4,
    )
    extra = {**dc.extra, "requested_compute_type": dc.compute_type}
    return dataclasses.replace(dc, compute_type="local", extra=extra)


def _unschedulable_reason(dc: DeploymentConfig) -> str | None:
    """Why this machine cannot run the service now (port taken, too few cores or memory)."""
    import os

    if dc.cpu_cores is not None and dc.cpu_cores > (os.cpu_count() or 1):
        return f"it asks for {dc.cpu_cores} CPU cores; this machine has {os.cpu_count()}"
    if dc.memory_gb is not None:
        import psutil

        available = psutil.virtual_memory().available / 2**30
        if dc.memory_gb > available:
            return f"it asks for {dc.memory_gb} GB of memory; {available:.1f} GB is available"
    family = socket.AF_INET6 if ":" in dc.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((dc.host, int(dc.port or 0)))
        except OSError as exc:
            return f"port {dc.port} on {dc.host} is in use ({exc.strerror}); pick another port or leave it unset"
    return None


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _service_lock(workspace: Workspace, name: str) -> AbstractContextManager[None]:
    return named_lock(workspace.path / "services", name)


def _service_log(folder: Path, echo: bool) -> Any:
    path = folder / "service.log"

    def log(message: str) -> None:
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} [deploy] {message.rstrip()}\n"
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
        if echo:
            sys.stdout.write(line)
            sys.stdout.flush()

    return log


def _echo_new_lines(path: Path, offset: int) -> int:
    """Print what the service log gained since `offset`; return the new offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return offset
    complete = chunk[: chunk.rfind(b"\n") + 1]
    if complete:
        sys.stdout.write(complete.decode(errors="replace"))
        sys.stdout.flush()
    return offset + len(complete)


def _json_dumps(value: Any) -> str:
    import json

    return json.dumps(value)
