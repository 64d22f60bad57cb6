"""Deployment triggers: a service that follows a model takes each new matching version.

A trigger is a document of kind "trigger" named after its service. The events process queues
a delivery "trigger:<service>" for every `model.registered` event that matches (model name,
and every tag given), and `apply` rolls the service forward through the control plane's
zero-drop update (`deploy.service.update_service`). With smoke data, the candidate revision
first runs beside the service as a short-lived local service on its own loopback port and
must answer every smoke request with 200; only then does the service update. A rejected or
failed version leaves the serving revision alone; the reason lands in the trigger's history,
the delivery log and a `trigger.completed` event.

An endpoint can follow a model too (`follow_endpoint`): each new matching version joins the
endpoint as a new version `v<version>` with a given share of live traffic (0 = reachable only
by name until someone gives it traffic), after the same smoke gate; the serving versions and
their split stay as they are when it fails. Its trigger is named `endpoint:<endpoint>`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport import settings
from modelport.configs import DeploymentConfig, InferenceConfig
from modelport.deploy import endpoint as endpoints
from modelport.deploy import service as control
from modelport.deploy.states import HEALTHY, TRANSITIONING
from modelport.errors import InvalidArgument, ModelportError, NotFound
from modelport.registry.events import (
    MODEL_REGISTERED,
    TRIGGER_COMPLETED,
    EventRecord,
    NewEvent,
)

if TYPE_CHECKING:
    from modelport.workspace import Workspace

KIND = "trigger"
SUBSCRIBER = "trigger:"
HISTORY = 20
APPLIED, REJECTED, FAILED, SKIPPED = "applied", "rejected", "failed", "skipped"
_GATE = "smoke gate of "  # the description that marks a candidate service
ENDPOINT_PREFIX = "endpoint:"  # trigger names of endpoints (service names have no colon)


def follow(
    workspace: Workspace,
    service: str,
    model: str,
    tags: dict[str, str] | None = None,
    smoke_data: str | Path | None = None,
) -> dict[str, Any]:
    """Make `service` take every version of `model` registered from now on whose tags
    include `tags`, after `smoke_data` (JSON: one request body, a list of them, or JSON
    lines) scores without error on it."""
    doc = control.get_document(workspace, service)
    if not any(m.partition(":")[0] == model for m in doc["models"]):
        raise InvalidArgument(
            f"Service '{service}' does not serve model '{model}' (it serves "
            f"{', '.join(doc['models']) or 'no model'}).",
            hint="Follow a model the service was deployed with, or update it to use that model.",
        )
    return _record(workspace, service, model, tags, smoke_data)


def _record(
    workspace: Workspace,
    name: str,
    model: str,
    tags: dict[str, str] | None,
    smoke_data: str | Path | None,
    **more: Any,
) -> dict[str, Any]:
    """Write trigger `name` (and its copy of the smoke data)."""
    smoke_path = None
    if smoke_data is not None:
        requests = load_smoke(Path(smoke_data))
        smoke_path = _smoke_folder(workspace) / f"{name}.json"
        smoke_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = smoke_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(requests))
        tmp.replace(smoke_path)
    trigger: dict[str, Any] = {
        "name": name,
        "model": model,
        "tags": dict(tags or {}),
        "smoke_data": str(smoke_path) if smoke_path else None,
        "created_time": time.time(),
        "after_event": workspace.store.last_event_id(),  # versions registered from now on
        "history": [],
        **more,
    }
    workspace.store.put_document(KIND, name, trigger)
    return trigger


def follow_endpoint(
    workspace: Workspace,
    endpoint: str,
    model: str,
    tags: dict[str, str] | None = None,
    traffic_percentile: float = 0,
    smoke_data: str | Path | None = None,
) -> dict[str, Any]:
    """Make every version of `model` registered from now on whose tags include `tags` join
    `endpoint` as a new version with `traffic_percentile` of live traffic."""
    doc = endpoints.get_document(workspace, endpoint)
    default = doc["versions"][endpoints.default_version(doc["versions"])]
    served = control.get_document(workspace, default["service"])["models"]
    if not any(m.partition(":")[0] == model for m in served):
        raise InvalidArgument(
            f"Endpoint '{endpoint}' does not serve model '{model}' (its default version serves "
            f"{', '.join(served) or 'no model'}).",
            hint="Follow a model the endpoint's default version was deployed with.",
        )
    if not isinstance(traffic_percentile, int | float) or not 0 <= traffic_percentile < 100:
        raise InvalidArgument(
            f"traffic_percentile must be from 0 up to (not including) 100, not "
            f"{traffic_percentile!r}.",
            hint="Give the share of live traffic each new version starts with (0: none).",
        )
    return _record(
        workspace,
        ENDPOINT_PREFIX + endpoint,
        model,
        tags,
        smoke_data,
        endpoint=endpoint,
        traffic_percentile=float(traffic_percentile),
    )


def unfollow(workspace: Workspace, service: str) -> None:
    get(workspace, service)
    workspace.store.delete_document(KIND, service)
    (_smoke_folder(workspace) / f"{service}.json").unlink(missing_ok=True)


def get(workspace: Workspace, service: str) -> dict[str, Any]:
    try:
        return workspace.store.get_document(KIND, service)
    except NotFound:
        if service.startswith(ENDPOINT_PREFIX):
            endpoint = service[len(ENDPOINT_PREFIX) :]
            raise NotFound(
                f"Endpoint '{endpoint}' follows no model.",
                hint=f"Start with `modelport endpoint follow {endpoint} --model NAME`.",
            ) from None
        raise NotFound(
            f"Service '{service}' follows no model.",
            hint=f"Start with `modelport service follow {service} --model NAME`.",
        ) from None


def list_all(workspace: Workspace) -> list[dict[str, Any]]:
    return workspace.store.list_documents(KIND)


def wants(trigger: dict[str, Any], event: EventRecord) -> bool:
    if event.type != MODEL_REGISTERED or event.id <= int(trigger.get("after_event", 0)):
        return False
    payload = event.payload
    tags = payload.get("tags") or {}
    return payload.get("name") == trigger["model"] and all(
        tags.get(k) == v for k, v in trigger["tags"].items()
    )


def load_smoke(path: Path) -> list[Any]:
    """Request bodies: a JSON list of them, one JSON body, or JSON lines."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidArgument(
            f"Cannot read smoke data {path}: {exc.strerror}.", hint="Check the file path."
        ) from None
    try:
        data = json.loads(text)
        requests = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        try:
            requests = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise InvalidArgument(
                f"Smoke data {path} is not JSON or JSON lines ({exc}).",
                hint='Give one request body ({"data": [[...]]}), a list of them, or one per line.',
            ) from None
    if not requests:
        raise InvalidArgument(f"Smoke data {path} holds no request.")
    return requests


# -- applying -----------------------------------------------------------------------------
def apply(workspace: Workspace, service: str, event: EventRecord) -> tuple[str, str | None]:
    """Roll `service` to the version `event` registered: (outcome, reason)."""
    model_id = str(event.payload["id"])
    try:
        trigger = get(workspace, service)
        if trigger.get("endpoint"):
            return _join_endpoint(workspace, trigger, event)
        doc = control.get_document(workspace, service)
    except NotFound as exc:
        return SKIPPED, str(exc)
    if model_id in doc["models"]:
        return _finish(workspace, trigger, event, APPLIED, "already serving this version")
    models = [model_id if m.partition(":")[0] == trigger["model"] else m for m in doc["models"]]
    if trigger.get("smoke_data"):
        reason = smoke_gate(workspace, doc, models, Path(trigger["smoke_data"]))
        if reason is not None:
            return _finish(workspace, trigger, event, REJECTED, f"smoke gate failed: {reason}")
    try:
        control.update_service(workspace, service, models=models)
    except ModelportError as exc:
        return _finish(workspace, trigger, event, FAILED, str(exc).splitlines()[0])
    return _finish(workspace, trigger, event, APPLIED, None)


def _join_endpoint(
    workspace: Workspace, trigger: dict[str, Any], event: EventRecord
) -> tuple[str, str | None]:
    """Add the registered version to the followed endpoint as version `v<version>`."""
    model_id = str(event.payload["id"])
    name = trigger["endpoint"]
    try:
        doc = endpoints.get_document(workspace, name)
    except NotFound as exc:
        return SKIPPED, str(exc)
    version = "v" + model_id.rpartition(":")[2]
    if version in doc["versions"]:
        return _finish(workspace, trigger, event, APPLIED, f"version '{version}' exists already")
    default = doc["versions"][endpoints.default_version(doc["versions"])]
    base = control.get_document(workspace, default["service"])
    models = [model_id if m.partition(":")[0] == trigger["model"] else m for m in base["models"]]
    if trigger.get("smoke_data"):
        reason = smoke_gate(workspace, base, models, Path(trigger["smoke_data"]))
        if reason is not None:
            return _finish(workspace, trigger, event, REJECTED, f"smoke gate failed: {reason}")
    try:
        endpoints.create_version(
            workspace,
            name,
            version,
            models,
            InferenceConfig.from_dict(base["inference_config"]),
            {},
            traffic_percentile=trigger.get("traffic_percentile", 0),
            description=f"registered as {model_id}; joined by a trigger",
        )
    except ModelportError as exc:
        return _finish(workspace, trigger, event, FAILED, str(exc).splitlines()[0])
    return _finish(workspace, trigger, event, APPLIED, None)


def smoke_gate(
    workspace: Workspace, doc: dict[str, Any], models: list[str], smoke: Path
) -> str | None:
    """Run the candidate revision as a private local service; None if every smoke request
    scores with 200, else why not. The candidate is deleted either way."""
    import httpx

    name = f"gate-{uuid.uuid4().hex[:10]}"
    dc = dataclasses.replace(
        DeploymentConfig.from_dict(doc["deployment_config"]),
        compute_type="local",
        port=None,
        host="127.0.0.1",
        auth_enabled=False,
        token_auth_enabled=False,
        primary_key=None,
        secondary_key=None,
        ssl_enabled=False,
        ssl_cert_pem_file=None,
        ssl_key_pem_file=None,
        description=f"{_GATE}{doc['name']}",
        tags={},
    )
    ic = InferenceConfig.from_dict(doc["inference_config"])
    try:
        control.deploy_service(workspace, name, models, ic, dc)
        state, error = _await_settled(workspace, name)
        if state != HEALTHY:
            return f"the candidate revision did not start ({state}: {error})"
        gate = control.get_document(workspace, name)
        uri = control.target_of(gate).scoring_uri(control.record_of(workspace, gate))
        with httpx.Client(timeout=120) as client:
            for i, body in enumerate(load_smoke(smoke), 1):
                content = body if isinstance(body, str) else json.dumps(body)
                response = client.post(
                    uri, content=content, headers={"Content-Type": "application/json"}
                )
                if response.status_code != 200:
                    return (
                        f"smoke request {i} answered {response.status_code}: "
                        f"{response.text[:200].strip()}"
                    )
        return None
    except ModelportError as exc:
        return str(exc).splitlines()[0]
    finally:
        with contextlib.suppress(NotFound):
            control.delete_service(workspace, name)


def remove_stale_gates(workspace: Workspace) -> None:
    """Delete candidate services an events process left when it died mid-gate."""
    for name in control.service_names(workspace):
        doc = control.get_document(workspace, name)
        if name.startswith("gate-") and str(doc.get("description") or "").startswith(_GATE):
            control.delete_service(workspace, name)


def _await_settled(workspace: Workspace, name: str) -> tuple[str, str | None]:
    deadline = time.monotonic() + float(settings.get("MODELPORT_READY_TIMEOUT_S"))
    while True:
        state, error = control.live_state(workspace, control.get_document(workspace, name))
        if state != TRANSITIONING or time.monotonic() > deadline:
            return state, error
        time.sleep(0.1)


def _finish(
    workspace: Workspace,
    trigger: dict[str, Any],
    event: EventRecord,
    outcome: str,
    reason: str | None,
) -> tuple[str, str | None]:
    """Record the outcome in the trigger's history, with a `trigger.completed` event."""
    entry = {
        "model": event.payload["id"],
        "event_id": event.id,
        "outcome": outcome,
        "reason": reason,
        "time": time.time(),
    }
    trigger["history"] = [*trigger.get("history", []), entry][-HISTORY:]
    payload = {"name": trigger["name"], "service": trigger["name"], **entry}
    if trigger.get("endpoint"):
        payload["service"] = None
        payload["endpoint"] = trigger["endpoint"]
    workspace.store.put_document(
        KIND, trigger["name"], trigger, event=NewEvent(TRIGGER_COMPLETED, payload)
    )
    return outcome, reason


def _smoke_folder(workspace: Workspace) -> Path:
    return workspace.path / "events" / "smoke"
