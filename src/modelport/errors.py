"""One exception root for modelport.

Every error carries the HTTP status an API would answer with and the exit code the CLI
uses, so the SDK, the CLI and the servers turn them into one shape without guessing.
Exit code 2 means "you asked for something wrong", 1 means "it failed while doing it".
"""

from __future__ import annotations


class ModelportError(Exception):
    """Base class: a message for people, plus an HTTP status and a CLI exit code."""

    http_status: int = 500
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} {hint}")


class UserError(ModelportError):
    """The request itself was wrong; retrying the same thing will fail the same way."""

    http_status = 400
    exit_code = 2


class InvalidArgument(UserError):
    """A name, path, version or option is malformed."""


class NotFound(UserError):
    """The named model, version, workspace, environment or service does not exist."""

    http_status = 404


class AlreadyExists(UserError):
    """Something with that name exists already and overwriting was not asked for."""

    http_status = 409


class Conflict(UserError):
    """The action would break something that depends on the target (e.g. a service uses it)."""

    http_status = 409


class MissingDependency(UserError):
    """An optional extra is needed for this feature."""

    http_status = 501

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the '{package}' package, which is not installed.",
            hint=f"Install it with: pip install 'modelport[{extra}]'",
        )


class IntegrityError(ModelportError):
    """Stored data no longer matches what was recorded (a corrupt or missing blob)."""

    http_status = 500
    exit_code = 1


class StorageFull(ModelportError):
    """The disk under the workspace ran out of space (or quota) while writing."""

    http_status = 507
    exit_code = 1


class DeploymentError(ModelportError):
    """A service could not be built, started or kept healthy."""

    http_status = 500
    exit_code = 1


class WebserviceException(DeploymentError):
    """Azure v1 name for deployment and service failures (kept so `except` clauses port)."""


class EntryScriptError(ModelportError):
    """The entry script cannot be loaded: missing init/run, bad signature, or init() raised."""

    exit_code = 2


class ServiceNotFound(NotFound, WebserviceException):
    """No service by that name (also a WebserviceException, as v1 code catches that)."""


class EndpointNotFound(NotFound, WebserviceException):
    """No endpoint of that name in this workspace."""


class AuthNotEnabled(InvalidArgument, WebserviceException):
    """Keys or a token were asked of a service with that kind of auth off (a user mistake, and
    a WebserviceException as in v1)."""


class ProfileNotFound(NotFound):
    """No profile by that name."""


class EnvironmentBuildError(DeploymentError):
    """An environment's virtualenv could not be created or its packages not installed."""


class PackageError(WebserviceException):
    """A package could not be created (context, wheel or image build failed)."""


class DockerUnavailable(PackageError):
    """Building or pulling an image needs a Docker engine, and none answers here."""


class PackageNotFound(NotFound):
    """No package with that id in this workspace."""


class ComputeTargetException(ModelportError):
    """Azure v1 name for compute target failures: attach, status, detach (kept so `except`
    clauses port)."""


class ComputeTargetNotFound(NotFound, ComputeTargetException):
    """No compute target by that name (also a ComputeTargetException, as v1 code catches that)."""


class InvalidComputeConfig(InvalidArgument, ComputeTargetException):
    """An attach or provisioning configuration that cannot work: a kubeconfig file that is
    missing or unparsable, a context it does not hold, a bad namespace."""


__all__ = [
    "AlreadyExists",
    "AuthNotEnabled",
    "ComputeTargetException",
    "ComputeTargetNotFound",
    "Conflict",
    "DeploymentError",
    "DockerUnavailable",
    "EntryScriptError",
    "EnvironmentBuildError",
    "IntegrityError",
    "InvalidArgument",
    "InvalidComputeConfig",
    "MissingDependency",
    "ModelportError",
    "NotFound",
    "PackageError",
    "PackageNotFound",
    "ProfileNotFound",
    "ServiceNotFound",
    "StorageFull",
    "UserError",
    "WebserviceException",
]
