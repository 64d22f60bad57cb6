"""What the image pip-installs: an environment reduced by `modelport.environments.resolve`.

A user-managed environment (the default when an inference config names none: "this
interpreter as it is") cannot be written down, so the image gets a stated fallback instead:
modelport's default serving stack for a script, the runtime's packages for a no-code model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelport.environments import CondaDependencies, Environment
from modelport.environments.resolve import resolve


@dataclass(frozen=True)
class ImageRequirements:
    """The lines of the context's requirements.txt, and what the Dockerfile needs besides."""

    lines: tuple[str, ...]  # pip options first, then requirements
    python_version: str | None  # major.minor the environment asked for
    environment_variables: dict[str, str]
    notes: tuple[str, ...]
    full_modelport: bool = False  # the environment lists `modelport`: all of it, not the runtime
    environment: Environment | None = None  # what is locked (the stand-in for a user-managed one)


def image_requirements(env: Environment, fallback: Sequence[str]) -> ImageRequirements:
    """Pip requirements for `env`; `fallback` packages stand in for a user-managed one."""
    notes: list[str] = []
    if env.python.user_managed_dependencies or env.python.conda_dependencies is None:
        notes.append(
            f"environment '{env.name}' reuses an interpreter as it is, which an image cannot; "
            f"the image installs {', '.join(fallback)} instead (pass an Environment to choose)"
        )
        stand_in = Environment(env.name)
        stand_in.python.conda_dependencies = CondaDependencies.create(pip_packages=list(fallback))
        stand_in.environment_variables = dict(env.environment_variables)
        env = stand_in
    resolved = resolve(env)
    notes += resolved.notes
    return ImageRequirements(
        lines=(*resolved.pip_options, *resolved.requirements),
        python_version=resolved.python_version,
        environment_variables=dict(env.environment_variables),
        notes=tuple(notes),
        full_modelport=resolved.wants_modelport,
        environment=env,
    )
