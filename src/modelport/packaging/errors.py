"""Packaging failures: subclasses of v1's `WebserviceException`, so ported `except` clauses work."""

from __future__ import annotations

from modelport.errors import NotFound, WebserviceException


class PackageError(WebserviceException):
    """A package could not be created (context, wheel or image build failed)."""


class DockerUnavailable(PackageError):
    """Building or pulling an image needs a Docker engine, and none answers here."""


class PackageNotFound(NotFound):
    """No package with that id in this workspace."""
