"""`azureml.core.environment` equivalent: `Environment` with v1's `build_local` / `build`,
the section classes and the module constants."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelport import environments
from modelport._ignored import ignored
from modelport.environments import CondaDependencies, DockerSection, PythonSection
from modelport.environments.build import BuiltEnvironment, build_environment
from modelport.environments.sections import (
    DEFAULT_CPU_IMAGE,
    DEFAULT_GPU_IMAGE,
    ContainerRegistry,
    DatabricksSection,
    DockerImagePlatform,
    RSection,
    SparkPackage,
    SparkSection,
)
from modelport.environments.spec import DockerBuildContext

if TYPE_CHECKING:
    from modelport.workspace import Workspace

__all__ = [
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
    "CondaDependencies",
    "ContainerRegistry",
    "DatabricksSection",
    "DockerBuildContext",
    "DockerImagePlatform",
    "DockerSection",
    "Environment",
    "EnvironmentBuild",
    "PythonSection",
    "RSection",
    "SparkPackage",
    "SparkSection",
]


class Environment(environments.Environment):
    """A v1 environment (see `modelport.environments.Environment`)."""

    def build_local(
        self,
        workspace: Workspace,
        platform: Any = None,
        useDocker: bool = False,
        log: Callable[[str], None] = print,
        **_unused: Any,
    ) -> BuiltEnvironment:
        """Build (or reuse) this environment's virtualenv in the workspace's cache now.

        v1 builds a conda environment or a Docker image; modelport always builds the uv
        virtualenv its local services run in (`useDocker` is accepted and ignored).
        """
        return build_environment(self, workspace.path / "envs", log)

    def build(self, workspace: Workspace, image_build_compute: Any = None) -> EnvironmentBuild:
        """Build the environment now, as `build_local` does (v1 built a Docker image in the
        cloud; `image_build_compute` is accepted and ignored with a warning)."""
        if image_build_compute is not None:
            ignored("Environment.build(image_build_compute=)", "environments build on this machine")
        lines: list[str] = []
        built = build_environment(self, workspace.path / "envs", lines.append)
        return EnvironmentBuild(built, lines)

    def get_image_details(self, workspace: Workspace) -> dict[str, Any]:
        """Where the environment is built: its virtualenv and interpreter (built now if it is
        not yet); v1 described the Docker image, which a local environment does not have."""
        built = build_environment(self, workspace.path / "envs", lambda _line: None)
        return {
            "name": self.name,
            "version": self.version,
            "dockerImage": None,
            "pythonEnvironment": {
                "interpreterPath": str(built.python),
                "condaEnvironmentPath": str(built.path),
            },
        }


class EnvironmentBuild:
    """What `Environment.build` returns: v1's build handle, for a build that already ran."""

    def __init__(self, built: BuiltEnvironment, log_lines: list[str]) -> None:
        self.built = built
        self.status = "Succeeded"
        self.log_lines = log_lines

    def wait_for_completion(self, show_output: bool = False) -> EnvironmentBuild:
        if show_output:
            print("\n".join(self.log_lines))
        return self

    def get_log(self) -> str:
        return "\n".join(self.log_lines)
