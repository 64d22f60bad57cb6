"""`ModelProfile`: run a profile in the background and keep its result in the workspace.

`Model.profile(...)` validates everything up front (so bad input fails before anything is
written), reserves the name, and starts a thread that deploys a temporary service, replays the
dataset at rising concurrency while sampling the service's process tree, and stores the result
as a document (kind "profile") plus `result.json` and `chart.html` in `ws.path/profiles/<name>`.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport._locks import named_lock
from modelport.configs import DeploymentConfig
from modelport.deploy.target import ServiceRecord, get_target
from modelport.errors import (
    AlreadyExists,
    DeploymentError,
    InvalidArgument,
    ModelportError,
    NotFound,
    ProfileNotFound,
)
from modelport.profiling.chart import render_html
from modelport.profiling.inputs import Request, load_requests
from modelport.profiling.recommend import Recommendation, recommend
from modelport.profiling.results import StepStats, summarize
from modelport.profiling.sampler import TreeSampler
from modelport.profiling.service import TemporaryService
from modelport.registry.documents import StoredDocument
from modelport.registry.models import resolve_models
from modelport.registry.names import validate_name

if TYPE_CHECKING:
    from modelport.configs import InferenceConfig
    from modelport.registry.models import Model
    from modelport.workspace import Workspace

KIND = "profile"
RUNNING, SUCCEEDED, FAILED = "Running", "Succeeded", "Failed"
STOP_ERROR_RATE = 0.5  # stop rising once errors dominate
PREFLIGHT_BODIES = 20  # distinct bodies checked one by one before the load starts


@dataclass
class ProfileSettings:
    """How a profile loads the service; defaults suit a first look (about 20 s)."""

    workers: int = 1
    concurrency_steps: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    step_duration_s: float = 3.0
    latency_target_ms: float = 500.0
    target_rps: float | None = None
    startup_timeout_s: float = 600.0
    sample_interval_s: float = 0.1

    def __post_init__(self) -> None:
        steps = tuple(int(c) for c in self.concurrency_steps)
        if not steps or any(c < 1 for c in steps) or list(steps) != sorted(set(steps)):
            raise InvalidArgument(
                f"Invalid concurrency steps {self.concurrency_steps!r}: give rising positive integers."
            )
        self.concurrency_steps = steps
        for field_name in ("workers", "step_duration_s", "latency_target_ms", "sample_interval_s"):
            if getattr(self, field_name) <= 0:
                raise InvalidArgument(f"{field_name} must be positive.")
        if self.target_rps is not None and self.target_rps <= 0:
            raise InvalidArgument("target_rps must be positive.")


@dataclass
class _Progress:
    phase: str = "starting the service"
    steps_done: int = 0
    step_started: float | None = None


class ModelProfile(StoredDocument):
    """A profile by name: `ModelProfile(ws, name)`; returned by `Model.profile(...)`."""

    KIND = KIND

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.name = name
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._progress = _Progress()
        self._user_error: ModelportError | None = None
        self._settings: ProfileSettings | None = None
        super().__init__(workspace, name)
        self._mark_orphan()

    @classmethod
    def _missing(cls, name: str) -> ProfileNotFound:
        return ProfileNotFound(
            f"Profile '{name}' does not exist in this workspace.",
            hint="List profiles with `modelport profile list`.",
        )

    # -- attributes ---------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return self.workspace.path / "profiles" / self.name

    @property
    def state(self) -> str:
        return str(self._doc["state"])

    @property
    def error(self) -> str | None:
        return self._doc.get("error")

    @property
    def recommendation(self) -> Recommendation | None:
        rec = self._doc.get("recommendation")
        return Recommendation.from_dict(rec) if rec else None

    @property
    def steps(self) -> list[StepStats]:
        return [StepStats.from_dict(s) for s in self._doc.get("steps", [])]

    @property
    def recommended_cpu(self) -> float | None:
        rec = self.recommendation
        return rec.cpu if rec else None

    @property
    def recommended_memory_in_gb(self) -> float | None:
        rec = self.recommendation
        return rec.memory_in_gb if rec else None

    @property
    def chart_path(self) -> Path | None:
        path = self.folder / "chart.html"
        return path if path.exists() else None

    # -- waiting ------------------------------------------------------------------------
    def wait_for_completion(self, show_output: bool = False) -> None:
        """Block until the profile ends; Ctrl-C cancels it (the service is still deleted).

        Raises the user error (e.g. an invalid dataset line) that ended a profile early;
        a service that failed to start leaves a Failed profile instead.
        """
        try:
            if self._thread is not None:
                if show_output:
                    self._show_progress()
                self._thread.join()
        except KeyboardInterrupt:
            self._cancel.set()
            if self._thread is not None:
                self._thread.join()
            raise
        if self._user_error is not None:
            raise self._user_error
        self._refresh()
        if show_output:
            print(self.summary(), flush=True)

    def _show_progress(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        assert self._thread is not None and self._settings is not None
        settings = self._settings
        total = len(settings.concurrency_steps)
        columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task(f"profile {self.name}", total=total)
            while self._thread.is_alive():
                p = self._progress
                fraction = 0.0
                if p.step_started is not None:
                    elapsed = time.monotonic() - p.step_started
                    fraction = min(elapsed / settings.step_duration_s, 0.99)
                bar.update(
                    task, completed=p.steps_done + fraction, description=f"{self.name}: {p.phase}"
                )
                self._thread.join(0.1)
            bar.update(task, completed=total, description=f"{self.name}: done")

    # -- results ------------------------------------------------------------------------
    def get_details(self) -> dict[str, Any]:
        """Azure's keys where they exist, plus modelport's per-step figures."""
        self._refresh()
        doc = self._doc
        rec = self.recommendation
        steps = self.steps
        operating = _operating_step(steps, rec)
        total = sum(s.requests for s in steps)
        errors = sum(s.errors for s in steps)
        return {
            "name": self.name,
            "state": self.state,
            "error": self.error,
            "createdTime": doc.get("created_time"),
            "requestedCpu": doc.get("requested_cpu"),
            "requestedMemoryInGb": doc.get("requested_memory_in_gb"),
            "requestedQueriesPerSecond": doc["settings"].get("target_rps"),
            "recommendedCpu": rec.cpu if rec else None,
            "recommendedMemoryInGB": rec.memory_in_gb if rec else None,
            "recommendedWorkers": rec.workers if rec else None,
            "recommendedReplicas": rec.replicas if rec else None,
            "maxUtilizedCpu": max((s.cpu_peak_cores for s in steps), default=None),
            "maxUtilizedMemoryInGB": max((s.memory_peak_gb for s in steps), default=None),
            "meanUtilizedCpu": operating.cpu_mean_cores if operating else None,
            "requestsPerSecond": operating.requests_per_second if operating else None,
            "measuredQueriesPerSecond": operating.requests_per_second if operating else None,
            "measuredConcurrency": operating.concurrency if operating else None,
            "latencyPercentile50InMs": operating.latency_p50_ms if operating else None,
            "latencyPercentile90InMs": operating.latency_p90_ms if operating else None,
            "latencyPercentile99InMs": operating.latency_p99_ms if operating else None,
            "latencyTargetInMs": doc["settings"]["latency_target_ms"],
            "maxConcurrencyWithinTarget": rec.max_concurrency_within_target if rec else None,
            "totalQueries": total,
            "successQueries": total - errors,
            "errorCount": errors,
            "errorSamples": [e for s in steps for e in s.error_samples][:5],
            "models": doc.get("models"),
            "inputDataset": doc.get("input_dataset"),
            "chart": str(self.chart_path) if self.chart_path else None,
            "modelport": {
                "settings": doc["settings"],
                "idle": doc.get("idle"),
                "steps": doc.get("steps", []),
                "recommendation": doc.get("recommendation"),
                "log": str(self.folder / "service.log"),
            },
        }

    def summary(self) -> str:
        """One or two lines for people."""
        rec = self.recommendation
        if self.state != SUCCEEDED or rec is None:
            return f"Profile '{self.name}' {self.state}" + (f": {self.error}" if self.error else "")
        reach = (
            f"p99 <= {rec.latency_target_ms:g} ms up to concurrency {rec.max_concurrency_within_target}"
            if rec.latency_target_met
            else f"p99 exceeds {rec.latency_target_ms:g} ms even at concurrency 1"
        )
        line = (
            f"Profile '{self.name}' Succeeded: recommended cpu {rec.cpu} cores, memory "
            f"{rec.memory_in_gb} GB, {rec.workers} worker(s); {rec.sustainable_rps} req/s "
            f"sustained, {reach}."
        )
        if rec.replicas is not None:
            line += f" For {rec.target_rps:g} req/s: {rec.replicas} replica(s)."
        errors = sum(s.errors for s in self.steps)
        if errors:
            line += f" {errors} request(s) failed."
        return line

    def deployment_config(self) -> DeploymentConfig:
        """A local deployment config with the recommended resources and worker count."""
        rec = self.recommendation
        if rec is None:
            raise InvalidArgument(
                f"Profile '{self.name}' is {self.state} and has no recommendation."
            )
        return DeploymentConfig(
            compute_type="local", workers=rec.workers, cpu_cores=rec.cpu, memory_gb=rec.memory_in_gb
        )

    def write_deployment_config(self, path: str | os.PathLike[str]) -> Path:
        """Write `deploymentconfig.json` for `modelport model deploy --dc` / `Model.deploy`."""
        return self.deployment_config().write(path)

    def serialize(self) -> dict[str, Any]:
        return self.get_details()

    def delete(self) -> None:
        """Forget the profile and its files (refused while it runs in this process)."""
        if self._thread is not None and self._thread.is_alive():
            raise InvalidArgument(f"Profile '{self.name}' is still running.")
        self._forget()
        shutil.rmtree(self.folder, ignore_errors=True)

    @staticmethod
    def list(workspace: Workspace) -> list[ModelProfile]:
        names = sorted(d["name"] for d in workspace.store.list_documents(KIND))
        return [ModelProfile(workspace, n) for n in names]

    def _refresh(self) -> None:
        try:
            super()._refresh()
        except NotFound:
            if self._user_error is None:
                raise
        self._mark_orphan()

    def _mark_orphan(self) -> None:
        """A Running profile whose process died (killed, machine rebooted) is Failed."""
        if self.state != RUNNING or _pid_alive(self._doc.get("owner_pid")):
            return
        compute_type = self._doc.get("compute_type", "local")
        config = DeploymentConfig(compute_type=compute_type)
        record = ServiceRecord(
            self.workspace, f"profile-{self.name}", self.folder / "service", config
        )
        get_target(compute_type).delete(record)
        self._doc.update(state=FAILED, error="the profiling process ended before the profile did")
        self.workspace.store.put_document(KIND, self.name, self._doc)

    def __repr__(self) -> str:
        return f"ModelProfile(name={self.name!r}, state={self.state!r})"


# -- starting and running ---------------------------------------------------------------------
def start_profile(
    workspace: Workspace,
    name: str,
    models: Sequence[Model | str],
    inference_config: InferenceConfig | None,
    input_dataset: Any,
    cpu: float | None = None,
    memory_in_gb: float | None = None,
    description: str | None = None,
    settings: ProfileSettings | None = None,
) -> ModelProfile:
    """Model.profile's engine: validate, reserve the name, start the background run."""
    validate_name("profile", name)
    settings = settings or ProfileSettings()
    if inference_config is None:
        raise InvalidArgument(
            "Model.profile needs an inference_config (entry script and environment)."
        )
    resolved = resolve_models(workspace, models)
    dataset_desc, requests = load_requests(workspace, input_dataset)
    _check_resources(cpu, memory_in_gb)
    doc = {
        "name": name,
        "state": RUNNING,
        "error": None,
        "description": description,
        "models": [m.id for m in resolved],
        "input_dataset": dataset_desc,
        "requests_in_dataset": len(requests),
        "requested_cpu": cpu,
        "requested_memory_in_gb": memory_in_gb,
        "settings": asdict(settings),
        "owner_pid": os.getpid(),
        "created_time": time.time(),
        "steps": [],
    }
    with _lock(workspace, name):
        try:
            workspace.store.get_document(KIND, name)
        except NotFound:
            workspace.store.put_document(KIND, name, doc)
        else:
            raise AlreadyExists(
                f"Profile '{name}' already exists.",
                hint="Pick another name, or delete it with `modelport profile delete`.",
            )
    profile = ModelProfile(workspace, name)
    shutil.rmtree(profile.folder, ignore_errors=True)
    profile.folder.mkdir(parents=True)
    profile._settings = settings
    profile._thread = threading.Thread(
        target=_run,
        args=(profile, resolved, inference_config, requests, settings),
        name=f"modelport-profile-{name}",
    )
    profile._thread.start()
    return profile


def _run(
    profile: ModelProfile,
    models: list[Model],
    inference_config: InferenceConfig,
    requests: list[Request],
    settings: ProfileSettings,
) -> None:
    """The background run; whatever happens, the temporary service is deleted."""
    doc = profile._doc
    steps: list[StepStats] = []
    try:
        with TemporaryService(
            profile.workspace,
            f"profile-{profile.name}",
            profile.folder / "service",
            models,
            inference_config,
            settings.workers,
            settings.startup_timeout_s,
            profile._cancel,
        ) as service:
            profile._progress.phase = "checking requests"
            _preflight(service.scoring_uri, requests, doc["input_dataset"])
            doc["idle"], steps = _measure(profile, service, requests, settings)
        if profile._cancel.is_set():
            raise InterruptedError("the profile was cancelled")
        rec = recommend(steps, settings.workers, settings.latency_target_ms, settings.target_rps)
        doc.update(state=SUCCEEDED, recommendation=rec.to_dict())
    except InvalidArgument as exc:  # the input was wrong: nothing is kept
        profile._user_error = exc
        profile.workspace.store.delete_document(KIND, profile.name)
        shutil.rmtree(profile.folder, ignore_errors=True)
        return
    except BaseException as exc:
        doc.update(state=FAILED, error=_reason(exc))
    doc.update(steps=[s.to_dict() for s in steps], finished_time=time.time())
    _save(profile, doc, steps)


def _measure(
    profile: ModelProfile,
    service: Any,
    requests: list[Request],
    settings: ProfileSettings,
) -> tuple[dict[str, float], list[StepStats]]:
    from modelport.profiling.load import run_step  # httpx: imported only when a profile runs

    steps: list[StepStats] = []
    headers = {"Content-Type": "application/json"}
    pids = service.process_ids()
    if not pids:
        raise DeploymentError(
            "The service's target does not report its processes, so its CPU and memory "
            "cannot be sampled; profile on the local target."
        )
    with TreeSampler(pids[0], settings.sample_interval_s) as sampler:
        time.sleep(max(0.3, 3 * settings.sample_interval_s))  # the idle baseline
        idle = [s for s in sampler.samples if s.label is None]
        baseline = {
            "cpu_cores": round(sum(s.cores for s in idle) / len(idle), 3) if idle else 0.0,
            "memory_gb": round(max((s.rss_bytes for s in idle), default=0) / 1024**3, 4),
        }
        sent = 0
        for concurrency in settings.concurrency_steps:
            if profile._cancel.is_set():
                break
            profile._progress.phase = f"concurrency {concurrency}"
            started = time.monotonic()
            profile._progress.step_started = started
            sampler.label = concurrency
            load = run_step(
                service.scoring_uri,
                requests,
                concurrency,
                settings.step_duration_s,
                headers,
                profile._cancel,
                start_index=sent,
            )
            sampler.label = None
            sent += load.ok + load.errors
            # the first sample of a step still covers part of the gap before it
            mine = [s for s in sampler.samples if s.label == concurrency]
            settled = [s for s in mine if s.t >= started + settings.sample_interval_s] or mine
            stats = summarize(load, settled)
            steps.append(stats)
            profile._progress.steps_done += 1
            profile._progress.step_started = None
            profile._doc["steps"] = [s.to_dict() for s in steps]
            if not stats.within(settings.latency_target_ms, STOP_ERROR_RATE):
                break  # latency broke or errors dominate: rising further tells nothing new
    if not steps:
        raise InterruptedError("the profile was cancelled before any load ran")
    return baseline, steps


def _preflight(url: str, requests: list[Request], dataset: str) -> None:
    """Send the first distinct bodies once each; a 4xx names the dataset line at fault."""
    import httpx

    from modelport.profiling.load import error_message

    seen: set[bytes] = set()
    with httpx.Client(timeout=120, headers={"Content-Type": "application/json"}) as client:
        for request in requests:
            if request.body in seen:
                continue
            seen.add(request.body)
            response = client.post(url, content=request.body)
            if 400 <= response.status_code < 500:
                raise InvalidArgument(
                    f"{request.where} of {dataset} is not a valid request for this service: "
                    f"HTTP {response.status_code}: {error_message(response)}"
                )
            if len(seen) >= PREFLIGHT_BODIES:
                return


def _save(profile: ModelProfile, doc: dict[str, Any], steps: list[StepStats]) -> None:
    rec = Recommendation.from_dict(doc["recommendation"]) if doc.get("recommendation") else None
    profile.folder.mkdir(parents=True, exist_ok=True)
    if steps:
        (profile.folder / "chart.html").write_text(render_html(profile.name, steps, rec))
    profile.workspace.store.put_document(KIND, profile.name, doc)
    profile._doc = doc
    (profile.folder / "result.json").write_text(json.dumps(profile.get_details(), indent=2))


def _operating_step(steps: list[StepStats], rec: Recommendation | None) -> StepStats | None:
    if not steps:
        return None
    wanted = rec.max_concurrency_within_target if rec else None
    return next((s for s in steps if s.concurrency == wanted), steps[0])


def _check_resources(cpu: float | None, memory_in_gb: float | None) -> None:
    if cpu is not None and not 0 < cpu <= (os.cpu_count() or 1):
        raise InvalidArgument(
            f"cpu={cpu} cores cannot be given here: this machine has {os.cpu_count()}."
        )
    if memory_in_gb is not None and memory_in_gb <= 0:
        raise InvalidArgument("memory_in_gb must be positive.")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if isinstance(exc, ModelportError) else f"{type(exc).__name__}: {first}"


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    import psutil

    return bool(psutil.pid_exists(pid))


def _lock(workspace: Workspace, name: str) -> AbstractContextManager[None]:
    return named_lock(workspace.path / "profiles", name)
