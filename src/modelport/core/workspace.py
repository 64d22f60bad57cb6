"""`azureml.core.workspace` equivalent: the workspace with v1's deployment-aware views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelport import workspace as base
from modelport.core.model import Model
from modelport.registry.datasets import Datastore

if TYPE_CHECKING:
    from modelport.core.compute import ComputeTarget
    from modelport.core.webservice import Webservice
    from modelport.packaging.containers import ContainerRegistry

__all__ = ["Workspace"]


class Workspace(base.Workspace):
    """`Workspace.from_config()`, `ws.models`, `ws.webservices`, `ws.environments`."""

    @property
    def models(self) -> dict[str, Model]:
        """Name → latest version, as `ws.models` in v1."""
        return {m.name: m for m in Model.list(self, latest=True)}

    @property
    def webservices(self) -> dict[str, Webservice]:
        """Name → Webservice, as `ws.webservices` in v1."""
        from modelport.core.webservice import Webservice  # deployment loads late (start-up)

        return {s.name: s for s in Webservice.list(self)}

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        """Name → ComputeTarget (of its v1 class), as `ws.compute_targets` in v1."""
        from modelport.core.compute import ComputeTarget

        return {c.name: c for c in ComputeTarget.list(self)}

    @property
    def environments(self) -> dict[str, Any]:
        from modelport.core.environment import Environment  # the builder loads late (start-up)

        return {name: Environment.get(self, name) for name, _, _ in self.store.list_environments()}

    def get_default_datastore(self) -> Datastore:
        """The workspace's default datastore (a folder of the workspace), as
        `Datastore.get_default(ws)`."""
        return Datastore.get_default(self)

    def set_container_registry(
        self, address: str | None, username: str | None = None, password: str | None = None
    ) -> None:
        """Name the registry `Model.package` pushes to and `package.pull()` pulls from; the
        credentials are kept owner-only (0600) in the workspace. `None` forgets it."""
        from modelport.packaging.workspace_settings import set_container_registry

        set_container_registry(self, address, username, password)

    def get_container_registry(self) -> ContainerRegistry:
        """The registry images are pushed to (the environment's MODELPORT_CONTAINER_REGISTRY
        first, else this workspace's setting); all None when there is none."""
        import os

        from modelport.packaging.containers import ContainerRegistry

        return ContainerRegistry.configured(self, os.environ)

    def set_container_engine(self, url: str | None) -> None:
        """Use the Docker/Podman API at `url` (unix:///…, tcp://…) for this workspace."""
        from modelport.packaging.workspace_settings import set_container_engine

        set_container_engine(self, url)

    def model_users(self, model_id: str) -> list[str]:
        from modelport.deploy.service import services_using  # deployment loads late (start-up)

        return [f"service '{name}'" for name in services_using(self, model_id)]
