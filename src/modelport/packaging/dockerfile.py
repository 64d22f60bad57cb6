"""Render the Dockerfile of a package: a pure function of a `DockerfileSpec`.

The layout mirrors the reference image, so v1 scripts find what they expect: the app at
`/var/azureml-app`, models under `azureml-models/<name>/<version>/`, the server on port 5001.
Third-party packages are installed before anything else is copied, and modelport itself after
them, so rebuilding after a change to the script, the models or modelport reuses the (slow)
install layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from modelport import settings
from modelport._version import __version__
from modelport.environments.lock import LOCK_HEADER
from modelport.errors import InvalidArgument
from modelport.scoring.config import ServerConfig, server_command

APP_ROOT = "/var/azureml-app"
SUPPORT_DIR = "/opt/modelport"  # requirements.txt and the modelport wheel inside the image
VENV = "/opt/venv"  # the image's environment; first on PATH, so `python` is its interpreter
PORT = 5001
DEFAULT_BASE_IMAGE = "python:3.11-slim"
# the image serves on every interface of the container, on the reference image's port
SERVER_COMMAND = tuple(
    server_command(ServerConfig(host="0.0.0.0", port=PORT), keep=("host", "port"))
)
_PIP = f"{VENV}/bin/python -m pip install"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class DockerfileSpec:
    """Everything the Dockerfile says; paths are relative to the build context."""

    base_image: str
    entry_script: str  # relative to the app root
    wheel: str | None  # context path of the modelport wheel; None: installed from the index
    model_dir: str | None  # AZUREML_MODEL_DIR inside the image; None without models
    environment: dict[str, str] = field(default_factory=dict)
    extra_steps: str | None = None
    header: tuple[str, ...] = ()
    source_directory: str | None = None  # AZUREML_SOURCE_DIRECTORY: its folder under the app root
    base_dockerfile: str | None = None  # v1's env.docker.base_dockerfile: replaces the FROM line
    install_options: tuple[str, ...] = ()  # for requirements.txt: `install_options(its text)`


def render(spec: DockerfileSpec) -> str:
    """The Dockerfile text; `docker run -p 6789:5001 IMAGE` then answers on :6789/score.

    Layers, slowest and most stable first, so each change rebuilds only what follows it:
    the third-party packages (requirements.txt: the environment's packages and modelport's
    own dependencies, so the layer's cache key is the environment alone), the extra steps,
    the modelport runtime (a small `--no-deps` install: editing modelport rebuilds only this),
    the settings (metadata), then the models and the app, the two that change most often.
    """
    lines = [f"# {line}" for line in spec.header]
    lines += environment_lines(spec.base_image, spec.base_dockerfile, spec.install_options)
    if spec.extra_steps and spec.extra_steps.strip():
        lines += ["", "# extra_docker_file_steps", spec.extra_steps.strip()]
    lines += ["", "# The modelport runtime: small, rebuilt when modelport changes."]
    if spec.wheel is not None:
        inside = f"{SUPPORT_DIR}/{_basename(spec.wheel)}"
        lines += [f"COPY {spec.wheel} {inside}", f"RUN {_PIP} --no-deps {inside}"]
    else:  # no wheel to copy: the index's release, with whatever it needs beyond the env
        lines.append(f'RUN {_PIP} "modelport=={__version__}"')
    lines += [
        "",
        f"WORKDIR {APP_ROOT}",
        f"EXPOSE {PORT}",
        "CMD [" + ", ".join(f'"{arg}"' for arg in SERVER_COMMAND) + "]",
        "",
    ]
    if spec.model_dir is not None:
        lines.append(f"COPY azureml-models/ {APP_ROOT}/azureml-models/")
    lines.append(f"COPY app/ {APP_ROOT}/")
    env = {**spec.environment, "AML_APP_ROOT": APP_ROOT, "AZUREML_ENTRY_SCRIPT": spec.entry_script}
    if spec.source_directory is not None:
        env["AZUREML_SOURCE_DIRECTORY"] = spec.source_directory
    if spec.model_dir is not None:
        env["AZUREML_MODEL_DIR"] = spec.model_dir
    # one instruction, last: images that differ only here (another entry script in the same
    # source directory) share every layer before it
    lines.append("ENV " + " \\\n    ".join(_assignment(n, v) for n, v in env.items()))
    return "\n".join(lines) + "\n"


def install_options(requirements: str) -> tuple[str, ...]:
    """pip's options for the context's requirements.txt: a modelport lock installs exactly
    what it lists (`--no-deps`), checked against its hashes when it has them."""
    if not requirements.startswith(LOCK_HEADER):
        return ()
    return ("--no-deps", "--require-hashes") if "--hash=" in requirements else ("--no-deps",)


def environment_lines(
    base_image: str, base_dockerfile: str | None = None, options: tuple[str, ...] = ()
) -> list[str]:
    """The Dockerfile's first part, up to the third-party packages: built on its own as the
    environment image (a cache that outlives the services built on it), then matched
    step for step, from the engine's layer cache, by every image that starts with it.
    v1's `env.docker.base_dockerfile` takes the place of the FROM line; `options` are
    requirements.txt's `install_options`."""
    if base_dockerfile and base_dockerfile.strip():
        start = ["# env.docker.base_dockerfile", base_dockerfile.strip()]
    else:
        start = [f"FROM {base_image}"]
    return [
        *start,
        "",
        _env("PYTHONUNBUFFERED", "1"),
        _env("PIP_NO_CACHE_DIR", "1"),
        _env("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
        _env("PATH", f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "",
        "# Third-party packages: this layer is reused until the environment changes.",
        # A virtualenv works on every base: Debian's own python refuses a system-wide install.
        f"COPY requirements.txt {SUPPORT_DIR}/requirements.txt",
        f"RUN python3 -m venv {VENV} && {_PIP} "
        + "".join(f"{o} " for o in options)
        + f"-r {SUPPORT_DIR}/requirements.txt",
    ]


def default_base_image() -> str:
    """The base image when nothing names one (MODELPORT_DEFAULT_BASE_IMAGE, else public)."""
    return str(settings.get("MODELPORT_DEFAULT_BASE_IMAGE") or DEFAULT_BASE_IMAGE)


def _env(name: str, value: str) -> str:
    """One `ENV NAME="value"` line."""
    return f"ENV {_assignment(name, value)}"


def _assignment(name: str, value: str) -> str:
    """`NAME="value"`, quoted so spaces, quotes and `$` arrive unchanged."""
    if not _ENV_NAME.match(name):
        raise InvalidArgument(f"Environment variable name {name!r} cannot be set in a Dockerfile.")
    if "\n" in value or "\r" in value:
        raise InvalidArgument(
            f"Environment variable {name} holds a line break; a Dockerfile can't."
        )
    quoted = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'{name}="{quoted}"'


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]
