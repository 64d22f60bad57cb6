"""The profile's temporary service: deployed through the target interface, but isolated.

It is not recorded as a workspace service (it never shows in `service list` and cannot clash
with one); its home is the profile's folder, and it is always torn down, keeping only its log
beside the profile's result. Any target that reports the processes it runs can be profiled.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.configs import DeploymentConfig, InferenceConfig
from modelport.deploy.states import FAILED, HEALTHY, TRANSITIONING, UNSCHEDULABLE
from modelport.deploy.target import ServiceRecord, ServiceSpec, get_target
from modelport.errors import DeploymentError

if TYPE_CHECKING:
    import threading

    from modelport.registry.models import Model
    from modelport.workspace import Workspace


class TemporaryService:
    """`with TemporaryService(...) as svc: svc.scoring_uri, svc.process_ids()`."""

    def __init__(
        self,
        workspace: Workspace,
        name: str,
        folder: Path,
        models: Sequence[Model],
        inference_config: InferenceConfig,
        workers: int,
        startup_timeout_s: float,
        cancel: threading.Event,
        compute_type: str = "local",
    ) -> None:
        self.folder = folder
        self.workers = workers
        self.startup_timeout_s = startup_timeout_s
        self.cancel = cancel
        config = DeploymentConfig(compute_type=compute_type, workers=workers)
        self._spec = ServiceSpec(workspace, name, 1, list(models), inference_config, config)
        self._target = get_target(compute_type)
        self._record = ServiceRecord(workspace, name, folder, config)

    @property
    def scoring_uri(self) -> str:
        return self._target.scoring_uri(self._record)

    def process_ids(self) -> list[int]:
        return self._target.process_ids(self._record)

    def __enter__(self) -> TemporaryService:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        try:
            problem = self._target.unschedulable(self._spec)
            if problem is not None:
                raise DeploymentError(f"The service cannot be placed: {problem}.")
            self._record.data = self._target.place(self._spec, self.folder)
            self._target.deploy(self._record, self._spec, self._log)
            self._wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop everything; keep the log one level up; remove the folder."""
        log = self.logs(100_000)
        if log:
            (self.folder.parent / "service.log").write_text(log + "\n")
        self._target.delete(self._record)
        shutil.rmtree(self.folder, ignore_errors=True)

    def logs(self, num_lines: int = 20) -> str:
        return self._target.logs(self._record, num_lines)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            state, error = self._target.state(self._record)
            if state == HEALTHY:
                return
            if state in (FAILED, UNSCHEDULABLE):
                raise DeploymentError(f"The service failed to start: {error}.")
            if state != TRANSITIONING:
                raise DeploymentError(f"The service stopped during start-up: {error}")
            if time.monotonic() > deadline:
                raise DeploymentError(
                    f"The service was not ready after {self.startup_timeout_s:.0f} s."
                )
            if self.cancel.is_set():
                raise DeploymentError("The profile was cancelled while the service started.")
            time.sleep(0.05)

    def _log(self, message: str) -> None:
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} [profile] {message.rstrip()}"
        self._target.write_log(self._record, line)
