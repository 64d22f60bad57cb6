"""Images on the container engine (`engine.py`) and the registry they are pushed to.

Build output streams to a log line by line; failures are turned into one line that says what
to do: a base image that cannot be pulled (this machine may be offline), the pip line that
failed, a registry that refused the credentials.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from modelport import settings
from modelport._locks import named_lock
from modelport.errors import DockerUnavailable, PackageError
from modelport.packaging import dockerfile, engine
from modelport.registry.gc import Reclaimed

if TYPE_CHECKING:
    from modelport.workspace import Workspace

Log = Callable[[str], None]
T = TypeVar("T")
REGISTRY_ENV = "MODELPORT_CONTAINER_REGISTRY"
ENVIRONMENT_REPOSITORY = "localhost/modelport-environment"
LABEL_ENVIRONMENT = "org.modelport.environment"
ENVIRONMENT_IMAGES_FILE = "environment-images.txt"  # in <workspace>/cache: what gc may reclaim
ENVIRONMENT_CATEGORY = "container environment layers"
_PULL_FAILURE = re.compile(
    r"initializing source|pull access denied|manifest unknown|no such host|"
    r"error pulling|failed to resolve|not found: manifest|dial tcp|repository does not exist",
    re.IGNORECASE,
)
_AUTH_FAILURE = re.compile(r"unauthorized|authentication required|401|denied", re.IGNORECASE)


@dataclass(frozen=True)
class ContainerRegistry:
    """v1's `package.get_container_registry()` result: where images go and how to log in.

    Without a configured registry all three are None: the image stays in the local engine and
    the Dockerfile's default base image is public, so there is nothing to log in to.
    """

    address: str | None = None
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never print the password
        shown = "***" if self.password else None
        return f"ContainerRegistry(address={self.address!r}, username={self.username!r}, password={shown!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ContainerRegistry:
        """MODELPORT_CONTAINER_REGISTRY (address), `_USERNAME` and `_PASSWORD`."""
        return cls(
            address=settings.get(REGISTRY_ENV, environ),
            username=settings.get(f"{REGISTRY_ENV}_USERNAME", environ),
            password=settings.get(f"{REGISTRY_ENV}_PASSWORD", environ),
        )

    @classmethod
    def configured(cls, workspace: Workspace, environ: Mapping[str, str]) -> ContainerRegistry:
        """The environment's registry if it names one, else the workspace's (containers.json)."""
        from_env = cls.from_env(environ)
        if from_env.address:
            return from_env
        from modelport.packaging.workspace_settings import read_container_settings

        stored = read_container_settings(workspace).get("registry") or {}
        return cls(stored.get("address"), stored.get("username"), stored.get("password"))

    def image_reference(self, name: str, label: str) -> str:
        prefix = f"{self.address.rstrip('/')}/" if self.address else ""
        return f"{prefix}{name}:{label}"

    def auth_config(self) -> dict[str, str] | None:
        if self.username is None:
            return None
        return {"username": self.username, "password": self.password or ""}


def require_engine(workspace: Workspace | None = None) -> Any:
    """A client on the engine, or DockerUnavailable (one line) saying how to get one."""
    reason = engine.engine_problem(workspace)
    if reason is not None:
        raise DockerUnavailable(
            f"No container engine (Docker or Podman) is available ({reason}); pass "
            "generate_dockerfile=True to get a Dockerfile and build context instead "
            "(`modelport model package --output-dir DIR`).",
            hint=engine.INSTALL_HINT,
        )
    return engine.connect(workspace)


def build_image(
    client: Any,
    context: Path,
    reference: str,
    log: Log,
    labels: Mapping[str, str] | None = None,
    base_image: str | None = None,
) -> str:
    """Build `context` as `reference`, streaming the output to `log`; the image id. A build
    that lost a cached layer to another process's image removal on the same engine (Podman:
    "layer not known") is run once more: the second finds the cache as it is now."""
    for attempt in (1, 2):
        output: list[str] = []
        image_id: str | None = None
        failure: str | None = None
        stream = client.api.build(
            path=str(context),
            tag=reference,
            rm=True,
            forcerm=True,
            decode=True,
            labels=dict(labels or {}),
        )
        for chunk in stream:
            for line in _lines(chunk):
                output.append(line)
                log(line)
            if "error" in chunk or "errorDetail" in chunk:
                failure = str(chunk.get("error") or chunk["errorDetail"].get("message", ""))
            aux = chunk.get("aux")
            if isinstance(aux, dict) and aux.get("ID"):
                image_id = str(aux["ID"])
        if failure is None and image_id is not None:
            return image_id
        remove_build_steps(client, labels or {})
        if attempt == 1 and failure is not None and _LOST_LAYER in failure:
            log(f"the build lost a cached layer ({failure.strip()}); building once more")
            continue
        raise PackageError(_build_failure(failure or "no image was produced", output, base_image))
    raise AssertionError("unreachable")


# Podman's words for a layer another process removed while this build read it
_LOST_LAYER = "layer not known"


def build_layered(
    client: Any,
    workspace: Workspace,
    context: Path,
    reference: str,
    log: Log,
    labels: Mapping[str, str] | None = None,
    base_image: str | None = None,
) -> str:
    """Build a package's context as `reference` on top of its environment image (built
    first when the engine lacks it, and remembered as the workspace's cache); the image id.

    One build at a time per workspace: the engine gains nothing from concurrent builds of
    shared layers (four at once took as long as four in turn, measured on Podman) and Podman
    fails some of them ("error deleting build container")."""
    with image_lock(workspace):
        environment = ensure_environment_image(client, context, log)
        if environment is not None:
            remember_environment_image(workspace, environment)
        return build_image(client, context, reference, log, labels, base_image)


def ensure_environment_image(client: Any, context: Path, log: Log) -> str | None:
    """The environment image of `context` (its Dockerfile up to the third-party packages),
    tagged `localhost/modelport-environment:<key>` with the key a hash of those lines and
    requirements.txt. Being tagged, it survives the removal of the images built on it, which
    find its layers in the engine's cache; `modelport workspace gc` reclaims it once no image
    uses it. None when the Dockerfile does not start the usual way (written by hand)."""
    text = (context / "Dockerfile").read_text()
    first = re.search(r"^FROM\s+(\S+)", text, re.MULTILINE)
    if first is None:
        return None
    requirements = (context / "requirements.txt").read_bytes()
    options = dockerfile.install_options(requirements.decode())
    part = "\n".join(dockerfile.environment_lines(first.group(1), None, options)) + "\n"
    if part not in text:
        return None
    key = hashlib.sha256(part.encode() + b"\0" + requirements).hexdigest()[:16]
    reference = f"{ENVIRONMENT_REPOSITORY}:{key}"
    if image_exists(client, reference):
        log(f"environment layer: reusing {reference}")
        return reference
    log(f"environment layer: building {reference}")
    with tempfile.TemporaryDirectory(prefix="modelport-env-") as folder:
        (Path(folder) / "Dockerfile").write_text(part)
        shutil.copyfile(context / "requirements.txt", Path(folder) / "requirements.txt")
        build_image(client, Path(folder), reference, log, {LABEL_ENVIRONMENT: key}, first.group(1))
    return reference


def remember_environment_image(workspace: Workspace, reference: str) -> None:
    """Note an environment image the workspace built on, for `workspace gc`."""
    with named_lock(workspace.path / "cache", "environment-images"):
        known = _remembered(workspace)
        if reference not in known:
            _write_remembered(workspace, [*known, reference])


def reclaim_environment_images(workspace: Workspace, dry_run: bool = False) -> list[Reclaimed]:
    """`workspace gc`: the environment images this workspace built on that no image or
    container uses any more. They are only a cache: the next build makes them again."""
    unused: list[tuple[str, int]] = []
    with named_lock(workspace.path / "cache", "environment-images"):
        known = _remembered(workspace)
        if not known or engine.engine_problem(workspace) is not None:
            return [Reclaimed(ENVIRONMENT_CATEGORY, 0, 0)]
        client = engine.connect(workspace)
        every = retry_listing(lambda: client.api.images(all=True))
        by_id = {_id(image["Id"]): image for image in every}
        by_tag = {tag: image for image in every for tag in image.get("RepoTags") or []}
        parents = _parents(every)
        containers = retry_listing(lambda: client.api.containers(all=True))
        in_use = {_id(c.get("ImageID") or "") for c in containers}
        kept = []
        for reference in known:
            image = by_tag.get(reference)
            if image is None:
                continue  # removed already: forget it
            if _id(image["Id"]) in parents or _id(image["Id"]) in in_use:
                kept.append(reference)
            else:
                unused.append((reference, _own_size(image, by_id)))
        if not dry_run:
            docker = engine.docker_module()
            for reference, _ in unused:
                try:
                    client.images.remove(reference)
                except docker.errors.APIError:  # used since we looked: keep it
                    kept.append(reference)
            _write_remembered(workspace, kept)
    return [Reclaimed(ENVIRONMENT_CATEGORY, len(unused), sum(size for _, size in unused))]


def _remembered(workspace: Workspace) -> list[str]:
    try:
        text = (workspace.path / "cache" / ENVIRONMENT_IMAGES_FILE).read_text()
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if line.strip()]


def _write_remembered(workspace: Workspace, references: list[str]) -> None:
    path = workspace.path / "cache" / ENVIRONMENT_IMAGES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(f"{r}\n" for r in references))
    tmp.replace(path)


def _own_size(image: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> int:
    """What removing the image frees: its size less that of its nearest tagged ancestor
    that is not an environment image (the base image, which stays)."""
    parent = by_id.get(_id(image.get("ParentId") or ""))
    while parent is not None:
        tags = [t for t in parent.get("RepoTags") or [] if not t.startswith(ENVIRONMENT_REPOSITORY)]
        if tags:
            return max(0, int(image.get("Size") or 0) - int(parent.get("Size") or 0))
        parent = by_id.get(_id(parent.get("ParentId") or ""))
    return int(image.get("Size") or 0)


def retry_listing(call: Callable[[], T], timeout: float = 30) -> T:
    """`call()` (a listing), tried again while the engine fails it: Podman fails a listing
    that meets an image another client is removing right then ("image not known")."""
    docker = engine.docker_module()
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except docker.errors.APIError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _parents(images: Iterable[dict[str, Any]]) -> set[str]:
    """Ids of the images another image builds on."""
    return {_id(image.get("ParentId") or "") for image in images} - {""}


def _id(value: str) -> str:
    """An image id without its `sha256:` prefix (Podman lists parents without it)."""
    return value.removeprefix("sha256:")


def remove_build_steps(client: Any, labels: Mapping[str, str]) -> None:
    """A failed build leaves the images of the steps it finished, with the build's labels:
    remove those no other image builds on (the engine then drops their unused parents too).
    Best effort: a build's own failure is what the caller must see."""
    if not labels:
        return
    (key, value), *others = labels.items()
    docker = engine.docker_module()
    try:
        parents = _parents(client.api.images(all=True))
        steps = client.api.images(all=True, filters={"label": f"{key}={value}"})
    except docker.errors.APIError:
        return
    for image in steps:
        own = image.get("Labels") or {}
        if image.get("RepoTags") or _id(image["Id"]) in parents:
            continue
        if all(own.get(k) == v for k, v in others):
            with contextlib.suppress(docker.errors.APIError):  # held by a container: kept
                client.images.remove(image["Id"])


@contextlib.contextmanager
def image_lock(workspace: Workspace) -> Iterator[None]:
    """Held while a workspace builds or removes images: a removal prunes the cached steps a
    concurrent build may be reusing (Podman then fails it: "identifier is not a container")."""
    with named_lock(workspace.path / "cache", "image-build"):
        yield


def _lines(chunk: dict[str, Any]) -> Iterable[str]:
    text = chunk.get("stream") or chunk.get("status") or ""
    for line in str(text).splitlines():
        if line.strip():
            yield line.rstrip()


def _build_failure(error: str, output: list[str], base_image: str | None) -> str:
    error = error.strip().splitlines()[-1] if error.strip() else error
    before_first_step = not any(line.startswith("STEP 2") for line in output)
    if base_image and before_first_step and (_PULL_FAILURE.search(error) or not output):
        return (
            f"The base image {base_image} cannot be pulled ({error}). This machine may be "
            "offline or the registry unreachable: pull or build it into the local engine "
            "first, or set environment.docker.base_image / InferenceConfig(base_image=...) "
            "to an image the engine has."
        )
    pip_errors = [ln for ln in output if ln.lstrip().startswith("ERROR:")]
    if pip_errors:
        return f"Installing the environment's packages failed: {pip_errors[0].strip()} ({error})"
    return f"The image build failed: {error}"


def push_image(client: Any, reference: str, registry: ContainerRegistry, log: Log) -> None:
    """Push `reference` to its registry with the registry's credentials."""
    repository, tag = _split(reference)
    log(f"pushing {reference}")
    api = client.api
    response = api._post(
        api._url("/images/{0}/push", repository),
        params=_registry_params(registry, tag=tag),
        headers=_auth_header(registry),
        stream=True,
    )
    with response:
        _follow(api._stream_helper(response, decode=True), log, f"push {reference}", registry)
    log(f"pushed {reference}")


def pull_image(client: Any, reference: str, registry: ContainerRegistry, log: Log) -> None:
    repository, tag = _split(reference)
    log(f"pulling {reference}")
    api = client.api
    response = api._post(
        api._url("/images/create"),
        params=_registry_params(registry, fromImage=repository, tag=tag),
        headers=_auth_header(registry),
        stream=True,
    )
    with response:
        if response.status_code >= 400:
            raise PackageError(_registry_failure(f"pull {reference}", response.text, registry))
        _follow(api._stream_helper(response, decode=True), log, f"pull {reference}", registry)
    log(f"pulled {reference}")


def _registry_params(registry: ContainerRegistry, **params: str) -> dict[str, str]:
    # a registry on this machine speaks plain HTTP (Docker assumes so for loopback; Podman
    # needs to be told, and ignores registries.conf changes made after its service started)
    host = (registry.address or "").split("/")[0].rsplit(":", 1)[0]
    if host in ("127.0.0.1", "localhost", "[::1]"):
        params["tlsVerify"] = "false"
    return params


def _auth_header(registry: ContainerRegistry) -> dict[str, str]:
    from docker import auth

    config = registry.auth_config()
    return {"X-Registry-Auth": auth.encode_header(config)} if config else {}


def image_exists(client: Any, reference: str) -> bool:
    docker = engine.docker_module()
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def _follow(
    stream: Iterable[dict[str, Any]], log: Log, what: str, registry: ContainerRegistry
) -> None:
    for chunk in stream:
        if "error" in chunk or "errorDetail" in chunk:
            message = str(chunk.get("error") or chunk["errorDetail"].get("message", ""))
            raise PackageError(_registry_failure(what, message, registry))
        status = chunk.get("status")
        if status and chunk.get("progressDetail") in (None, {}):
            log(str(status))


def _registry_failure(what: str, message: str, registry: ContainerRegistry) -> str:
    message = message.strip().splitlines()[-1] if message.strip() else "no reason given"
    if _AUTH_FAILURE.search(message):
        who = f"user {registry.username!r}" if registry.username else "no credentials"
        return (
            f"The registry {registry.address} refused to {what.split()[0]} with {who}: {message}. "
            "Check the registry user name and password (`modelport workspace set-registry`)."
        )
    return f"Could not {what}: {message}"


def _split(reference: str) -> tuple[str, str]:
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:
        return reference, "latest"
    return name, tag
