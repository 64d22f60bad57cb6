"""`azureml.core.runconfig` equivalent: `RunConfiguration` for a local `ScriptRunConfig`.

Only what a run on this machine uses is acted on (the environment, script and arguments);
v1's compute, Docker, MPI and data settings are accepted and ignored with a warning.
"""

from __future__ import annotations

from typing import Any

from modelport._ignored import IgnoredSetting, ignored
from modelport.environments import Environment
from modelport.environments.sections import DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE

__all__ = ["DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "RunConfiguration"]

_LOCAL = "runs execute in a subprocess on this machine"


class RunConfiguration:
    """v1's run configuration: `run_config.environment = env`, then
    `ScriptRunConfig(source_directory, script, run_config=run_config)`."""

    node_count = IgnoredSetting(1, _LOCAL)
    communicator = IgnoredSetting("None", _LOCAL)
    framework = IgnoredSetting("Python", _LOCAL)
    max_run_duration_seconds: int | None = None
    data = IgnoredSetting({}, _LOCAL)
    output_data = IgnoredSetting({}, _LOCAL)
    docker = IgnoredSetting(None, _LOCAL)

    def __init__(
        self,
        script: str | None = None,
        arguments: list[Any] | None = None,
        framework: str | None = None,
        communicator: str | None = None,
        conda_dependencies: Any = None,
        _history_enabled: Any = None,
        _path: Any = None,
        _name: Any = None,
        command: str | list[str] | None = None,
    ) -> None:
        self.script = script
        self.arguments = list(arguments or [])
        self.command = command
        self.target = "local"
        self.environment = Environment("run-environment")
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        for name, value in (("framework", framework), ("communicator", communicator)):
            if value is not None:
                setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "target" and value not in (None, "local"):
            ignored(f"RunConfiguration.target={value!r}", _LOCAL)
            value = "local"
        super().__setattr__(name, value)
