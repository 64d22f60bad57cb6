"""Plan and write a package's Docker build context.

Planning (`plan_context`) does every check that can fail because of the caller's input, before
anything is written: models, entry script, environment, extra steps, base image. Writing
(`write_context`) fills a temporary sibling folder and renames it into place, so a context is
either whole or absent. Models are real copies, verified against their hashes: a Docker build
context cannot follow the hard links local services use.

requirements.txt is the environment's lock (`modelport.environments.lock`): resolved the way a
local build resolves it (strict pins, `resolve_nearest`, the resolution cut-off) and installed
`--no-deps --require-hashes`, so local services, container services and packaged images run
the same versions; requirements.in says what was asked for.

    Dockerfile  requirements.in  requirements.txt  wheels/modelport_runtime-*.whl (or modelport-*.whl)
    app/<entry script, or the source directory under its own name>
    azureml-models/<name>/<version>/<registered file or folder>
"""

from __future__ import annotations

import email.parser
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from modelport._version import __version__
from modelport.app_folder import AppLayout, app_layout, copy_app, place_models
from modelport.environments.lock import lock_environment
from modelport.environments.sections import is_azureml_base_image
from modelport.environments.spec import DEFAULT_PIP_PACKAGES
from modelport.errors import InvalidArgument, PackageError
from modelport.layout import MODELS_FOLDER, model_dir_for
from modelport.packaging import dockerfile
from modelport.packaging.requirements import ImageRequirements, image_requirements
from modelport.packaging.wheel import modelport_wheel
from modelport.registry.models import Model
from modelport.runtimes.config import no_code_config
from modelport.runtimes.environment import pinned_requirement
from modelport.runtimes.frameworks import runtime_for

if TYPE_CHECKING:
    from modelport.configs import InferenceConfig

Log = Callable[[str], None]
# No name, version or hash of modelport in here: the file is the environment layer's cache key.
REQUIREMENTS_HEADER = (
    "# Third-party packages: the service's environment, then the modelport runtime's own\n"
    "# dependencies (the Dockerfile installs modelport itself --no-deps in a later layer).\n"
)
MIN_PYTHON = (3, 11)  # the scoring server's floor (pyproject's requires-python)


@dataclass(frozen=True)
class ContextPlan:
    """A checked package: what goes into the context, before any of it is written."""

    models: tuple[Model, ...]
    script: Path  # the entry script on disk
    source_directory: Path | None
    layout: AppLayout  # the entry script and source directory, relative to the app root
    requirements: ImageRequirements
    base_image: str
    extra_steps: str | None
    base_dockerfile: str | None  # Dockerfile text that builds the base (replaces FROM)
    description: str  # one line for the Dockerfile's header
    resolve_nearest: bool = False  # the deployment's switch (the environment's is read too)
    python: str | None = None  # the image's major.minor, when its base is python:X.Y-slim


def plan_context(
    models: Sequence[Model],
    inference_config: InferenceConfig | None,
    *,
    resolve_nearest: bool = False,
) -> ContextPlan:
    """Resolve and check everything a context needs; raise InvalidArgument on bad input.
    `resolve_nearest` is the deployment config's (or CLI's) switch for pins that cannot
    install (checked, with the lock, when the context is written)."""
    if inference_config is None or inference_config.entry_script is None:
        inference_config, fallback = _no_code(models, inference_config)
    else:
        fallback = tuple(p for p in DEFAULT_PIP_PACKAGES if p != "modelport")
    ic = inference_config
    assert ic.entry_script is not None
    script = ic.script_path().resolve()
    if not script.is_file():
        raise InvalidArgument(f"Entry script {script} does not exist.")
    source = Path(ic.source_directory).resolve() if ic.source_directory else None
    layout = app_layout(script, source)
    environment = ic.resolve_environment()
    requirements = image_requirements(environment, fallback)
    base, note = _base_image(environment.docker.base_image or ic.base_image, requirements)
    chosen = re.fullmatch(r"python:(\d+\.\d+)-slim", base)
    if note:
        requirements = _with_note(requirements, note)
    ids = ", ".join(m.id for m in models) or "no models"
    return ContextPlan(
        models=tuple(models),
        script=script,
        source_directory=source,
        layout=layout,
        requirements=requirements,
        base_image=base,
        extra_steps=_extra_steps(ic.extra_docker_file_steps),
        base_dockerfile=_base_dockerfile(environment.docker.base_dockerfile),
        description=f"{ids}; entry script {script.name}; environment '{environment.name}'",
        resolve_nearest=resolve_nearest,
        python=chosen[1] if chosen else None,
    )


def write_context(
    plan: ContextPlan, dest: Path, wheel_cache: Path, log: Log, exclude: Sequence[Path] = ()
) -> None:
    """Write the context into `dest` (which must not exist) atomically; folders in `exclude`
    (the workspace) are never copied out of a source directory that contains them.
    `wheel_cache`'s parent (the workspace's cache) also keeps the PyPI facts of the lock."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        copy_app(plan.script, plan.source_directory, staging / "app", skip=(*exclude, dest.parent))
        log(f"app: {plan.layout.entry_script} (from {plan.source_directory or plan.script.parent})")
        place_models(plan.models, staging / MODELS_FOLDER, log, copy=True)
        for note in plan.requirements.notes:
            log(f"note: {note}")
        wheel = modelport_wheel(wheel_cache, log, full=plan.requirements.full_modelport)
        (staging / "wheels").mkdir()
        shutil.copy2(wheel, staging / "wheels" / wheel.name)
        extra = runtime_dependencies(wheel)
        environment = plan.requirements.environment
        assert environment is not None
        lock = lock_environment(
            environment,
            wheel_cache.parent,
            log,
            extra=extra,
            resolve_nearest=plan.resolve_nearest,
            python=plan.python,
        )
        lines = lock.inputs if lock else (*plan.requirements.lines, *extra)
        asked = REQUIREMENTS_HEADER + "".join(f"{x}\n" for x in lines)
        (staging / "requirements.in").write_text(asked)
        (staging / "requirements.txt").write_text(lock.text if lock else asked)
        log(f"requirements.txt: {len(lines)} requirement(s) locked; FROM {plan.base_image}")
        text = (staging / "requirements.txt").read_text()
        spec = _spec(plan, wheel, dockerfile.install_options(text))
        (staging / "Dockerfile").write_text(dockerfile.render(spec))
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the context from other users
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"build context ready: {dest}")


def runtime_dependencies(wheel: Path) -> tuple[str, ...]:
    """The wheel's unconditional `Requires-Dist` lines (extras left out), as pip lines: they go
    into the environment layer so that installing modelport itself needs nothing more."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            raise PackageError(f"The modelport wheel {wheel.name} has no single METADATA file.")
        metadata = email.parser.Parser().parsestr(archive.read(names[0]).decode())
    found = []
    for requirement in metadata.get_all("Requires-Dist") or []:
        marker = requirement.partition(";")[2]
        if "extra" not in marker:
            found.append(requirement.strip())
    return tuple(found)


def _spec(
    plan: ContextPlan, wheel: Path | None, install_options: tuple[str, ...]
) -> dockerfile.DockerfileSpec:
    model_dir = None
    if plan.models:
        ids = [(m.name, m.version) for m in plan.models]
        model_dir = model_dir_for(Path(dockerfile.APP_ROOT), ids).as_posix()
    return dockerfile.DockerfileSpec(
        base_image=plan.base_image,
        entry_script=plan.layout.entry_script,
        source_directory=plan.layout.source_directory,
        wheel=f"wheels/{wheel.name}" if wheel is not None else None,
        model_dir=model_dir,
        environment=plan.requirements.environment_variables,
        extra_steps=plan.extra_steps,
        base_dockerfile=plan.base_dockerfile,
        install_options=install_options,
        header=(
            f"Generated by modelport {__version__}: {plan.description}.",
            "Build: docker build --tag IMAGE .    Run: docker run -p 6789:5001 IMAGE",
            "Then POST JSON to http://localhost:6789/score",
        ),
    )


def _no_code(
    models: Sequence[Model], given: InferenceConfig | None
) -> tuple[InferenceConfig, tuple[str, ...]]:
    """The built-in runtime's config, and the runtime's packages as the image's fallback."""
    environment = given.environment if given is not None else None
    try:
        config, _ = no_code_config(models, None, environment)
    except InvalidArgument as exc:  # its messages name Model.deploy; this is Model.package
        message = exc.message.replace("Model.deploy", "Model.package")
        raise InvalidArgument(message, hint=exc.hint) from None
    model = models[0]
    root = Path(Model.get_model_path(model.name, model.version, _workspace=model.workspace))
    runtime = runtime_for(model, root)
    pin = pinned_requirement(runtime, model.model_framework_version, MIN_PYTHON)
    packages = tuple(pin if pin and p == runtime.pinned else p for p in runtime.packages)
    if given is not None:  # keep the Docker-only fields the caller set
        config.base_image = given.base_image
        config.extra_docker_file_steps = given.extra_docker_file_steps
    return config, packages


def _base_image(given: str | None, requirements: ImageRequirements) -> tuple[str, str | None]:
    default = dockerfile.default_base_image()
    if is_azureml_base_image(given):
        return default, (
            f"{given} is one of v1's Azure ML base images; the image builds on {default}, "
            "which has the Python the scoring server needs"
        )
    if given:
        return given, None
    wanted = requirements.python_version
    if wanted is None or default != dockerfile.DEFAULT_BASE_IMAGE:
        return default, None
    parts = tuple(int(p) for p in wanted.split("."))
    if parts < MIN_PYTHON:
        return default, (
            f"the environment asks for Python {wanted}; modelport's scoring server needs "
            f"{'.'.join(map(str, MIN_PYTHON))}+, so the image uses {default}"
        )
    return f"python:{wanted}-slim", None


def _with_note(requirements: ImageRequirements, note: str) -> ImageRequirements:
    return replace(requirements, notes=(*requirements.notes, note))


def _base_dockerfile(text: str | None) -> str | None:
    """v1's `env.docker.base_dockerfile`: Dockerfile text whose last stage is the base."""
    if not text or not text.strip():
        return None
    if not re.search(r"^\s*FROM\s", text, re.IGNORECASE | re.MULTILINE):
        raise InvalidArgument(
            "environment.docker.base_dockerfile has no FROM line.",
            hint="Start it with `FROM <image>`; the service's layers are added after it.",
        )
    return text


def _extra_steps(value: str | None) -> str | None:
    """v1's `extra_docker_file_steps` is the path of a file holding Dockerfile lines."""
    if not value:
        return None
    path = Path(value)
    if not path.is_file():
        raise InvalidArgument(
            f"extra_docker_file_steps file {path} does not exist.",
            hint="Pass the path of a file holding the extra Dockerfile instructions.",
        )
    text = path.read_text(encoding="utf-8")
    if re.search(r"^\s*FROM\s", text, re.IGNORECASE | re.MULTILINE):
        raise InvalidArgument(
            f"extra_docker_file_steps file {path} has a FROM line; it would replace the image.",
            hint="Set the base image with environment.docker.base_image instead.",
        )
    return text
