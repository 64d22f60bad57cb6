"""The one error this package adds to modelport's exception tree."""

from __future__ import annotations

from modelport.errors import DeploymentError


class EnvironmentBuildError(DeploymentError):
    """An environment's virtualenv could not be created or its packages not installed."""
