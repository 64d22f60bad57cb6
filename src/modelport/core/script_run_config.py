"""`azureml.core.ScriptRunConfig`: a training script run by `Experiment(ws, name).submit(...)`.

v1 sends the source directory to a compute target; here the run executes on this machine, in
a subprocess, against the local workspace:

    src = ScriptRunConfig(source_directory=".", script="train.py", arguments=["--alpha", 0.5],
                          environment=env)
    run = Experiment(ws, "train").submit(src)
    run.wait_for_completion(show_output=True)

The source directory is copied into the run's work folder (so `outputs/` and other files the
script writes stay out of the project), the script runs there with the environment's Python
(built as for a service; without an environment, this interpreter), and files it writes under
`./outputs` are uploaded to the run when it ends. Inside the script
`Run.get_context()` (modelport.core.run) is this run: `run.log(...)`, `run.upload_file(...)`
and `run.register_model(...)` reach the workspace. Its output is the run file
`azureml-logs/70_driver_log.txt`, v1's name for it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport._ignored import ignored
from modelport.app_folder import copy_source
from modelport.environments.build import build_environment
from modelport.errors import InvalidArgument, ModelportError
from modelport.registry.runs import Run

if TYPE_CHECKING:
    from modelport.core.runconfig import RunConfiguration
    from modelport.environments import Environment
    from modelport.registry.runs import Experiment

__all__ = ["ScriptRun", "ScriptRunConfig"]

DRIVER_LOG = "azureml-logs/70_driver_log.txt"
RUN_ID_VARIABLE = "AZUREML_RUN_ID"  # v1 sets it in every run; Run.get_context() reads it
_LOCAL = "runs execute in a subprocess on this machine"


class RunFailed(ModelportError):
    """The script exited with an error (the message has its exit code and last log lines)."""


class ScriptRunConfig:
    """What to run: a script (or a command) in a source directory, with an environment."""

    def __init__(
        self,
        source_directory: str | os.PathLike[str],
        script: str | None = None,
        arguments: Sequence[Any] | None = None,
        run_config: RunConfiguration | None = None,
        _telemetry_values: Any = None,
        compute_target: Any = None,
        environment: Environment | None = None,
        distributed_job_config: Any = None,
        resume_from: Any = None,
        max_run_duration_seconds: int | None = None,
        command: str | list[str] | None = None,
        docker_runtime_config: Any = None,
    ) -> None:
        for keyword, value in (
            ("distributed_job_config", distributed_job_config),
            ("resume_from", resume_from),
            ("docker_runtime_config", docker_runtime_config),
        ):
            if value is not None:
                ignored(f"ScriptRunConfig({keyword}=)", _LOCAL)
        if compute_target not in (None, "local"):
            ignored(f"ScriptRunConfig(compute_target={_name(compute_target)!r})", _LOCAL)
        self.source_directory = Path(source_directory)
        if not self.source_directory.is_dir():
            raise InvalidArgument(f"source_directory {source_directory} is not a folder.")
        self.run_config = run_config
        self.script = script or (run_config.script if run_config is not None else None)
        self.arguments = list(arguments or (run_config.arguments if run_config else []))
        self.command = command or (run_config.command if run_config is not None else None)
        if self.script is None and not self.command:
            raise InvalidArgument("ScriptRunConfig needs script= or command=.")
        if self.script is not None and not (self.source_directory / self.script).is_file():
            raise InvalidArgument(
                f"Script {self.script} is not in source_directory {self.source_directory}."
            )
        self.environment = environment or (run_config.environment if run_config else None)
        self.max_run_duration_seconds = max_run_duration_seconds or (
            run_config.max_run_duration_seconds if run_config is not None else None
        )

    def _command(self, python: str) -> list[str]:
        if self.command:
            words = shlex.split(self.command) if isinstance(self.command, str) else self.command
            return [str(w) for w in words]
        assert self.script is not None
        return [python, self.script, *(str(a) for a in self.arguments)]

    def _submit(self, experiment: Experiment, tags: dict[str, str] | None = None, **_: Any) -> Run:
        """Start the run: copy the source, build the environment, start the subprocess."""
        workspace = experiment.workspace
        run = ScriptRun._start(workspace, experiment.name, None, None, None)
        assert isinstance(run, ScriptRun)
        for key, value in (tags or {}).items():
            run.tag(key, value)
        work = workspace.path / "runs" / ".work" / run.id
        copy_source(self.source_directory, work, skip=[workspace.path])
        run._outputs = work / "outputs"
        log_path = run.files_dir / DRIVER_LOG
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a", encoding="utf-8") as log:
            python = self._python(workspace, log)
            env = {**os.environ, **self._variables(), RUN_ID_VARIABLE: run.id}
            env["MODELPORT_WORKSPACE"] = str(workspace.path)
            if workspace.database_url and not workspace.database_url.startswith("sqlite"):
                env["MODELPORT_DATABASE_URL"] = workspace.database_url
            try:
                run._process = subprocess.Popen(
                    self._command(python), cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT
                )
            except OSError as exc:
                run._finish("Failed")
                raise RunFailed(f"Run {run.id} could not start: {exc}") from None
        run._deadline = (
            time.monotonic() + self.max_run_duration_seconds
            if self.max_run_duration_seconds
            else None
        )
        run.add_properties({"pid": str(run._process.pid), "work_folder": str(work)})
        return run

    def _python(self, workspace: Any, log: Any) -> str:
        env = self.environment
        if env is None:
            return sys.executable
        if env.python.user_managed_dependencies:
            return env.python.interpreter_path or sys.executable
        built = build_environment(env, workspace.path / "envs", lambda line: print(line, file=log))
        log.flush()
        return str(built.python)

    def _variables(self) -> dict[str, str]:
        env = self.environment
        return {str(k): str(v) for k, v in (env.environment_variables if env else {}).items()}


class ScriptRun(Run):
    """A submitted run; `wait_for_completion()` waits for the script and records its end."""

    _process: subprocess.Popen[bytes] | None = None
    _deadline: float | None = None

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
    ) -> dict[str, Any]:
        """Block until the script ends (printing its output with `show_output`), upload its
        `outputs/`, set the status; a failed run raises RunFailed unless `raise_on_error=False`."""
        log_path = self.files_dir / DRIVER_LOG
        shown = 0
        while self._process is not None and self._process.poll() is None:
            if self._deadline is not None and time.monotonic() > self._deadline:
                self._process.kill()
                self._process.wait()
                with open(log_path, "a", encoding="utf-8") as log:
                    log.write("run exceeded max_run_duration_seconds; stopped\n")
                break
            shown = _echo(log_path, shown) if show_output else shown
            time.sleep(0.2)
        if show_output:
            _echo(log_path, shown)
        self._settle()
        if raise_on_error and self.get_status() == "Failed":
            tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-5:])
            raise RunFailed(
                f"Run {self.id} failed (exit code {self._exit_code()}): {tail.strip()}",
                hint=f"The whole log: run.download_file('{DRIVER_LOG}').",
            )
        return self.get_details()

    def get_status(self) -> str:
        self._settle()
        return super().get_status()

    def get_details(self) -> dict[str, Any]:
        record = self.workspace.store.get_run(self.id)
        return {
            "runId": self.id,
            "status": record.status,
            "startTimeUtc": record.start_time,
            "endTimeUtc": record.end_time,
            "properties": self.get_properties(),
            "logFiles": {DRIVER_LOG: str(self.files_dir / DRIVER_LOG)},
        }

    def _settle(self) -> None:
        """Once the process has ended, record the end exactly once."""
        process = self._process
        if process is None or process.poll() is None:
            return
        self._process = None
        self._returncode = process.returncode
        self._finish("Completed" if process.returncode == 0 else "Failed")

    def _exit_code(self) -> int | None:
        return getattr(self, "_returncode", None)


def _echo(path: Path, offset: int) -> int:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return offset
    print(chunk, end="", flush=True)
    return offset + len(chunk.encode())


def _name(target: Any) -> str:
    return str(getattr(target, "name", target))
