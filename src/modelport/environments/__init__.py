"""Environments: what a service needs installed, and the cached virtualenvs built from them."""

from modelport.errors import EnvironmentBuildError

from .build import BuiltEnvironment, build_environment
from .conda_dependencies import CondaDependencies
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
