"""Environments: what a service needs installed, and the cached virtualenvs built from them."""

from .build import BuiltEnvironment, build_environment
from .conda_dependencies import CondaDependencies
from .errors import EnvironmentBuildError
from .spec import DockerSection, Environment, PythonSection

__all__ = [
    "BuiltEnvironment",
    "CondaDependencies",
    "DockerSection",
    "Environment",
    "EnvironmentBuildError",
    "PythonSection",
    "build_environment",
]
