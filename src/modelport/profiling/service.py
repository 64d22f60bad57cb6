"""The profile's temporary service: deployed through the local target, but isolated.

It is not recorded as a workspace service (it never shows in `service list` and cannot clash
with one); it lives in the profile's folder on a free port and is always torn down, keeping
only its log beside the profile's result.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.deploy.config import DeploymentConfig, InferenceConfig
from modelport.deploy.status import FAILED, HEALTHY, UNSCHEDULABLE, process_alive, read_status, tail
from modelport.deploy.target import ServiceSpec, get_target
from modelport.errors import DeploymentError

if TYPE_CHECKING:
    import threading

    from modelport.registry.models import Model
    from modelport.workspace import Workspace


class TemporaryService:
    """`with TemporaryService(...) as svc: svc.scoring_uri, svc.supervisor_pid`."""

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
    ) -> None:
        self.folder = folder
        self.workers = workers
        self.startup_timeout_s = startup_timeout_s
        self.cancel = cancel
        self.port = _free_port()
        config = DeploymentConfig(compute_type="local", port=self.port, workers=workers)
        self._spec = ServiceSpec(workspace, name, folder, 1, list(models), inference_config, config)
        self._target = get_target("local")

    @property
    def scoring_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/score"

    @property
    def supervisor_pid(self) -> int:
        return int(read_status(self.folder)["supervisor_pid"])

    def __enter__(self) -> TemporaryService:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        try:
            self._target.deploy(self._spec, self._log)
            self._wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every process; keep the log one level up; remove the folder."""
        log = self.folder / "service.log"
        if log.exists():
            shutil.copyfile(log, self.folder.parent / "service.log")
        self._target.delete(self.folder)

    def logs(self, num_lines: int = 20) -> str:
        return tail(self.folder / "service.log", num_lines)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            status = read_status(self.folder)
            state = status.get("state")
            if state == HEALTHY:
                return
            if state in (FAILED, UNSCHEDULABLE):
                raise DeploymentError(f"The service failed to start: {status.get('error')}.")
            if status.get("supervisor_pid") and not process_alive(
                status["supervisor_pid"], status.get("supervisor_started")
            ):
                raise DeploymentError(
                    f"The service's supervisor exited during start-up: {self.logs(5)}"
                )
            if time.monotonic() > deadline:
                raise DeploymentError(
                    f"The service was not ready after {self.startup_timeout_s:.0f} s."
                )
            if self.cancel.is_set():
                raise DeploymentError("The profile was cancelled while the service started.")
            time.sleep(0.05)

    def _log(self, message: str) -> None:
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} [profile] {message.rstrip()}\n"
        with open(self.folder / "service.log", "a", encoding="utf-8") as f:
            f.write(line)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
