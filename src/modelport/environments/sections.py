"""The parts of a v1 `Environment` modelport keeps but does not act on.

Services here run one Python virtualenv (or one image built from it), so Spark packages,
R packages, Databricks libraries, a private registry's credentials and the image platform
have nothing to apply to. Each is accepted so v1 code runs; setting one warns once, saying so.
"""

from __future__ import annotations

from typing import Any

from modelport._ignored import IgnoredSetting

NO_SPARK = "modelport services do not run Spark, so Spark packages are not installed"
NO_R = "modelport services run Python entry scripts only; R packages are not installed"
NO_DATABRICKS = "modelport has no Databricks compute; the libraries are not installed"
NO_REGISTRY = (
    "images are built and run on this machine's engine; a base image from a private registry "
    "must already be pulled (`podman login` + `podman pull`)"
)
NO_PLATFORM = "images are built for this machine's platform"

# v1's `azureml.core.environment.DEFAULT_CPU_IMAGE` / `DEFAULT_GPU_IMAGE` (without the date
# tag v1 appends). Packaging recognises them and builds on modelport's default base image,
# which has the Python the scoring server needs; v1's images are not reachable offline.
DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"
AZUREML_IMAGE_PREFIX = "mcr.microsoft.com/azureml/"


def is_azureml_base_image(image: str | None) -> bool:
    """True for one of v1's Azure ML base images (which modelport replaces by its default)."""
    return bool(image) and str(image).startswith(AZUREML_IMAGE_PREFIX)


class SparkPackage:
    """A Maven package reference, `SparkPackage(group, artifact, version)`."""

    def __init__(
        self, group: str | None = None, artifact: str | None = None, version: str | None = None
    ) -> None:
        self.group = group
        self.artifact = artifact
        self.version = version

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SparkPackage) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"SparkPackage({self.group!r}, {self.artifact!r}, {self.version!r})"


class SparkSection:
    """`env.spark`: accepted, ignored with a warning (see NO_SPARK)."""

    repositories = IgnoredSetting([], NO_SPARK)
    packages = IgnoredSetting([], NO_SPARK)
    precache_packages = IgnoredSetting(True, NO_SPARK)

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)


class RSection:
    """`env.r = RSection()`: accepted, ignored with a warning (see NO_R)."""

    r_version = IgnoredSetting(None, NO_R)
    user_managed = IgnoredSetting(False, NO_R)
    rscript_path = IgnoredSetting(None, NO_R)
    snapshot_date = IgnoredSetting(None, NO_R)
    cran_packages = IgnoredSetting(None, NO_R)
    github_packages = IgnoredSetting(None, NO_R)
    custom_url_packages = IgnoredSetting(None, NO_R)
    bioconductor_packages = IgnoredSetting(None, NO_R)


class DatabricksSection:
    """`env.databricks`: accepted, ignored with a warning (see NO_DATABRICKS)."""

    maven_libraries = IgnoredSetting([], NO_DATABRICKS)
    pypi_libraries = IgnoredSetting([], NO_DATABRICKS)
    rcran_libraries = IgnoredSetting([], NO_DATABRICKS)
    jar_libraries = IgnoredSetting([], NO_DATABRICKS)
    egg_libraries = IgnoredSetting([], NO_DATABRICKS)


class ContainerRegistry:
    """`env.docker.base_image_registry`: accepted, ignored with a warning (see NO_REGISTRY)."""

    address = IgnoredSetting(None, NO_REGISTRY)
    username = IgnoredSetting(None, NO_REGISTRY)
    password = IgnoredSetting(None, NO_REGISTRY)
    registry_identity = IgnoredSetting(None, NO_REGISTRY)


class DockerImagePlatform:
    """`env.docker.platform`: accepted, ignored with a warning (see NO_PLATFORM)."""

    os = IgnoredSetting("Linux", NO_PLATFORM)
    architecture = IgnoredSetting("amd64", NO_PLATFORM)
