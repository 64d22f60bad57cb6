"""The control plane: services recorded in the metadata store (kind "service"), each run by
the target its deployment config names.

Every change takes the service's lock, asks the target to act, then records the outcome, so a
service's document always says what its target runs. Target-specific facts (ports, folders,
containers) stay in the document's `target` part, which only the target reads.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
import time
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from modelport._locks import named_lock
from modelport._procs import process_alive
from modelport.configs import DeploymentConfig, InferenceConfig
from modelport.deploy.states import FAILED, HEALTHY, TRANSITIONING, UNSCHEDULABLE
from modelport.deploy.target import (
    DeploymentTarget,
    ServiceRecord,
    ServiceSpec,
    get_target,
    target_names,
)
from modelport.errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    NotFound,
    ServiceNotFound,
    WebserviceException,
)
from modelport.registry.events import service_state_changed
from modelport.registry.models import Model, resolve_models
from modelport.runtimes.config import no_code_config

if TYPE_CHECKING:
    from modelport.workspace import Workspace

KIND = "service"
DELETED = "Deleted"  # the state a service.state_changed event reports for a deleted service
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_V1_NAMES = {"container": "ACI", "kubernetes": "AKS"}


class TargetFallbackWarning(UserWarning):
    """A container or Kubernetes deployment config ran as a local service."""


# -- reading ------------------------------------------------------------------------------
def get_document(workspace: Workspace, name: str) -> dict[str, Any]:
    try:
        return workspace.store.get_document(KIND, name)
    except NotFound:
        raise ServiceNotFound(
            f"Service '{name}' does not exist in this workspace.",
            hint="List services with `modelport service list`.",
        ) from None


def service_names(workspace: Workspace) -> list[str]:
    return [d["name"] for d in workspace.store.list_documents(KIND)]


def services_using(workspace: Workspace, model_id: str) -> list[str]:
    return [d["name"] for d in workspace.store.list_documents(KIND) if model_id in d["models"]]


def record_of(workspace: Workspace, doc: dict[str, Any]) -> ServiceRecord:
    return ServiceRecord(
        workspace=workspace,
        name=doc["name"],
        home=Path(doc["home"]),
        deployment_config=DeploymentConfig.from_dict(doc["deployment_config"]),
        data=dict(doc.get("target") or {}),
    )


def target_of(doc: dict[str, Any]) -> DeploymentTarget:
    return get_target(doc["deployment_config"]["compute_type"])


def live_state(workspace: Workspace, doc: dict[str, Any]) -> tuple[str, str | None]:
    """The recorded outcome of the last change, else what the target sees now."""
    if doc.get("state") in (FAILED, UNSCHEDULABLE):
        return doc["state"], doc.get("error")
    if doc.get("state") == TRANSITIONING and not doc.get("started"):
        pid, started = doc.get("deployer") or (None, None)
        if pid is not None and not process_alive(pid, started):
            return FAILED, (
                f"the process that was deploying it (pid {pid}) ended before the service "
                "started; deploy again with overwrite=True (CLI: --overwrite)"
            )
        return TRANSITIONING, None
    return target_of(doc).state(record_of(workspace, doc))


# -- changing -----------------------------------------------------------------------------
def deploy_service(
    workspace: Workspace,
    name: str,
    models: Sequence[Model | str],
    inference_config: InferenceConfig | None,
    deployment_config: DeploymentConfig | None,
    overwrite: bool = False,
    show_output: bool = False,
    endpoint: str | None = None,
) -> dict[str, Any]:
    """Model.deploy's engine: check, record, place and start the service; its document (plus
    `log_shown`: how much of the log `show_output` printed, so waiting prints only the rest).
    `endpoint` names the endpoint the service is a version of (only it may delete it)."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidArgument(
            f"Invalid service name {name!r}: use 3-32 characters, lowercase letters, digits and "
            "dashes, starting with a letter and ending with a letter or digit."
        )
    resolved = resolve_models(workspace, models)
    if inference_config is None or inference_config.entry_script is None:
        # no-code deployment: the model's framework picks a built-in runtime (or says why not)
        environment = inference_config.environment if inference_config is not None else None
        inference_config, deployment_config = no_code_config(
            resolved, deployment_config, environment
        )
    target, dc = choose_target(workspace, deployment_config or DeploymentConfig(), name)
    with service_lock(workspace, name):
        _replace_existing(workspace, name, overwrite)
        home = workspace.path / "services" / name
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        spec = ServiceSpec(workspace, name, 1, resolved, inference_config, dc)
        now = time.time()
        doc: dict[str, Any] = {
            "name": name,
            "models": [m.id for m in resolved],
            "inference_config": inference_config.to_dict(),
            "deployment_config": dc.to_dict(),
            "revision": 1,
            "state": TRANSITIONING,
            "error": None,
            "description": dc.description,
            "tags": dc.tags,
            "endpoint": endpoint,
            "home": str(home),
            "target": {},
            "started": False,
            "deployer": _this_process(),  # so a killed deploy reads as Failed, not forever busy
            "created_time": now,
            "updated_time": now,
        }
        unschedulable = target.unschedulable(spec)
        if unschedulable is None:
            doc["target"] = target.place(spec, home)
            spec.deployment_config = _placed(dc, doc["target"])  # keys stay in the spec only
            doc["deployment_config"] = spec.deployment_config.to_dict()
        else:
            doc.update(state=UNSCHEDULABLE, error=unschedulable)
        _record(workspace, doc, None)
        if unschedulable is not None:
            raise WebserviceException(
                f"Service '{name}' is Unschedulable: {unschedulable}.",
                hint="Change the deployment config and deploy again with overwrite=True "
                "(CLI: --overwrite).",
            )
        record = record_of(workspace, doc)
        log = _deploy_log(target, record, show_output)
        try:
            target.deploy(record, spec, log)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log(f"deployment failed: {reason}")
            doc.update(state=FAILED, error=reason)
            _record(workspace, doc, TRANSITIONING)
            if not isinstance(exc, InvalidArgument | NotFound):
                raise WebserviceException(f"Deploying service '{name}' failed: {reason}") from exc
            raise
        doc["started"] = True
        _record(workspace, doc, TRANSITIONING)
        log.flush()
    return {**doc, "log_shown": log.shown}


def update_service(
    workspace: Workspace,
    name: str,
    models: Sequence[Model | str] | None = None,
    inference_config: InferenceConfig | None = None,
    deployment_config: DeploymentConfig | None = None,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    auth_enabled: bool | None = None,
    token_auth_enabled: bool | None = None,
    show_output: bool = False,
) -> dict[str, Any]:
    """Roll out a new revision; the previous one keeps serving if it fails."""
    with service_lock(workspace, name):
        doc = get_document(workspace, name)
        current = DeploymentConfig.from_dict(doc["deployment_config"])
        if deployment_config is not None:
            target, dc = choose_target(workspace, deployment_config, name)
            if dc.compute_type != current.compute_type:
                raise InvalidArgument(
                    f"Service '{name}' runs on the {current.compute_type} target; an update "
                    f"cannot move it to {dc.compute_type}.",
                    hint="Deploy a new service on the other target, then delete this one.",
                )
            dc = dataclasses.replace(
                dc, port=dc.port or current.port
            )  # a new config keeps the port
        else:
            target, dc = target_of(doc), current
        changes: dict[str, Any] = {}
        if auth_enabled is not None:
            changes["auth_enabled"] = auth_enabled
        if token_auth_enabled is not None:
            changes["token_auth_enabled"] = token_auth_enabled
        dc = dataclasses.replace(dc, **changes)  # validates again; the caller's config is untouched
        ic = inference_config or InferenceConfig.from_dict(doc["inference_config"])
        resolved = (
            resolve_models(workspace, models)
            if models is not None
            else [Model(workspace, id=m) for m in doc["models"]]
        )
        revision = int(doc["revision"]) + 1
        before = doc.get("state")
        spec = ServiceSpec(workspace, name, revision, resolved, ic, dc)
        record = record_of(workspace, doc)
        log = _deploy_log(target, record, show_output)
        try:
            data = target.update(record, spec, log)
        except Exception as exc:
            log(f"update failed: {exc}")
            raise
        doc.update(
            models=[m.id for m in resolved],
            inference_config=ic.to_dict(),
            deployment_config=_placed(dc, data).to_dict(),
            target=data,
            revision=revision,
            state=HEALTHY,
            error=None,
            started=True,
            updated_time=time.time(),
        )
        if description is not None:
            doc["description"] = description
        if tags is not None:
            doc["tags"] = tags
        _record(workspace, doc, before)
        return doc


def update_metadata(
    workspace: Workspace,
    name: str,
    tags: dict[str, str] | None = None,
    properties: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Replace a service's tags and/or properties without a new revision (they describe the
    service; the running processes never see them)."""
    with service_lock(workspace, name):
        doc = get_document(workspace, name)
        if tags is not None:
            doc["tags"] = {str(k): str(v) for k, v in tags.items()}
        if properties is not None:
            doc["properties"] = {str(k): str(v) for k, v in properties.items()}
        workspace.store.put_document(KIND, name, doc)
        return doc


def restart_service(workspace: Workspace, name: str) -> None:
    with service_lock(workspace, name):
        doc = get_document(workspace, name)
        target_of(doc).restart(record_of(workspace, doc))


def delete_service(workspace: Workspace, name: str, by_endpoint: bool = False) -> None:
    """Stop everything the service runs, free what it holds, forget it. A version of an
    endpoint is deleted through its endpoint, which first stops routing to it."""
    with service_lock(workspace, name):
        doc = get_document(workspace, name)
        if doc.get("endpoint") and not by_endpoint and _routed_by(workspace, doc):
            raise Conflict(
                f"Service '{name}' is a version of endpoint '{doc['endpoint']}'.",
                hint=f"Delete the version (modelport endpoint version delete {doc['endpoint']} "
                "VERSION) or the endpoint.",
            )
        target_of(doc).delete(record_of(workspace, doc))
        workspace.store.delete_document(KIND, name, event=_state_event(doc, DELETED))
        shutil.rmtree(doc["home"], ignore_errors=True)


def _routed_by(workspace: Workspace, doc: dict[str, Any]) -> bool:
    """Whether the endpoint the service was deployed for still lists it (a deploy killed
    before the endpoint was recorded leaves a service anyone may delete)."""
    try:
        endpoint = workspace.store.get_document("endpoint", doc["endpoint"])
    except NotFound:
        return False
    return any(v.get("service") == doc["name"] for v in endpoint.get("versions", {}).values())


def choose_target(
    workspace: Workspace, dc: DeploymentConfig, name: str
) -> tuple[DeploymentTarget, DeploymentConfig]:
    """The target that runs `dc`. The v1 rule lives here, once: a container (ACI) or
    Kubernetes (AKS) config with no such target usable runs locally, with a warning."""
    reason: str | None
    if dc.compute_type in target_names():
        target = get_target(dc.compute_type)
        reason = target.unavailable(workspace)
        if reason is None:
            return target, dc
    else:
        reason = f"no {dc.compute_type} target is installed"
    if dc.compute_type not in _V1_NAMES:
        raise InvalidArgument(
            f"Service '{name}' cannot deploy to the {dc.compute_type} target: {reason}."
        )
    warnings.warn(
        f"No {dc.compute_type} target is usable here ({reason}); service '{name}' runs as a "
        f"local service with the same settings (the {_V1_NAMES[dc.compute_type]} config's auth, "
        "keys, timeouts and resources apply).",
        TargetFallbackWarning,
        stacklevel=4,
    )
    extra = {**dc.extra, "requested_compute_type": dc.compute_type}
    return get_target("local"), dataclasses.replace(dc, compute_type="local", extra=extra)


def _this_process() -> list[float]:
    me = psutil.Process()
    return [me.pid, me.create_time()]


def service_lock(workspace: Workspace, name: str) -> AbstractContextManager[None]:
    return named_lock(workspace.path / "services", name)


def _replace_existing(workspace: Workspace, name: str, overwrite: bool) -> None:
    try:
        existing = workspace.store.get_document(KIND, name)
    except NotFound:
        return
    if not overwrite:
        raise AlreadyExists(
            f"Service '{name}' already exists.",
            hint="Pass overwrite=True (CLI: --overwrite) to replace it, call service.update(...), "
            "or pick another name.",
        )
    if existing.get("target"):
        target_of(existing).delete(record_of(workspace, existing))
    workspace.store.delete_document(KIND, name, event=_state_event(existing, DELETED))


def _record(workspace: Workspace, doc: dict[str, Any], before: str | None) -> None:
    """Write the service's document; when its recorded state changed, with a
    `service.state_changed` event in the same transaction."""
    event = None if doc.get("state") == before else _state_event(doc, before=before)
    workspace.store.put_document(KIND, doc["name"], doc, event=event)


def _state_event(doc: dict[str, Any], state: str | None = None, before: str | None = None) -> Any:
    """The event for `doc` now in `state` (its own by default); with an explicit state
    (Deleted) the document's state is the previous one."""
    previous = doc.get("state") if state is not None else before
    return service_state_changed(
        doc["name"],
        state or doc["state"],
        previous,
        error=doc.get("error"),
        revision=doc.get("revision"),
        models=doc.get("models"),
        tags=doc.get("tags"),
    )


def _placed(dc: DeploymentConfig, data: dict[str, Any]) -> DeploymentConfig:
    """The config as placed: a target that picked the port records it in the config too."""
    port = data.get("port")
    return dataclasses.replace(dc, port=int(port)) if port and not dc.port else dc


class _DeployLog:
    """The deploy log callback: appends a line; with `echo`, prints what the log gained since
    the last print (so lines the target wrote itself show too, each once). `shown` is the log
    offset printed up to, from which `wait_for_deployment(show_output=True)` goes on."""

    def __init__(self, target: DeploymentTarget, record: ServiceRecord, echo: bool, start: int):
        self.target, self.record, self.echo, self.shown = target, record, echo, start

    def __call__(self, message: str) -> None:
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} [deploy] {message.rstrip()}"
        self.target.write_log(self.record, line)
        self.flush()

    def flush(self) -> None:
        if not self.echo:
            return
        text, self.shown = self.target.read_log(self.record, self.shown)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()


def _deploy_log(target: DeploymentTarget, record: ServiceRecord, echo: bool) -> _DeployLog:
    start = target.read_log(record, 0)[1] if echo else 0  # an update prints only its own lines
    return _DeployLog(target, record, echo, start)
