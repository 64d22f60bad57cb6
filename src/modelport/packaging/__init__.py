"""Packaging: `Model.package(...)` as a Docker build context (`generate_dockerfile=True`) or an
image built by the local Docker engine; see `docs/packaging.md`."""

from modelport.errors import DockerUnavailable, PackageError, PackageNotFound
from modelport.packaging.containers import ContainerRegistry
from modelport.packaging.package import ModelPackage, create_package

__all__ = [
    "ContainerRegistry",
    "DockerUnavailable",
    "ModelPackage",
    "PackageError",
    "PackageNotFound",
    "create_package",
]
