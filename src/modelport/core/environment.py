"""`azureml.core.environment` equivalent: `Environment` with v1's `build_local`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelport import environments
from modelport.environments import CondaDependencies
from modelport.environments.build import BuiltEnvironment, build_environment

if TYPE_CHECKING:
    from modelport.workspace import Workspace

__all__ = ["CondaDependencies", "Environment"]


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
