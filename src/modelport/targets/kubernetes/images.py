"""Getting a revision's image to the cluster.

The image is built exactly as `Model.package` and the container target build it
(`packaging.context` + `packaging.containers.build_image` on the local engine; the
environment's layer is cached, so a new revision builds in seconds). Then, as the compute
says (`ComputeRecord.extra["image_transfer"]`):

- `registry` (default): tag it in the workspace's registry (`ws.set_container_registry`,
  `MODELPORT_CONTAINER_REGISTRY`) and push; only missing layers travel. Pods pull it with the
  registry's credentials (an image pull Secret). `extra["pull_registry"]` names the registry
  as the cluster's nodes reach it when that differs (e.g. `localhost:5001` here,
  `registry:5000` inside the cluster).
- `containerd`: stream `docker save` of the image into the node's containerd
  (`ctr -n k8s.io images import`, `extra["containerd_socket"]`), for a single-node cluster on
  this machine without a registry (like `kind load`); pods use `imagePullPolicy: Never`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.deploy.computes import ComputeRecord
from modelport.deploy.target import Log, ServiceSpec
from modelport.errors import DeploymentError, InvalidArgument
from modelport.packaging import containers as images
from modelport.packaging import engine
from modelport.packaging.containers import ContainerRegistry
from modelport.packaging.context import plan_context, write_context

LABEL_SERVICE = "io.modelport.kubernetes.service"
LABEL_WORKSPACE = "io.modelport.kubernetes.workspace"
TRANSFERS = ("registry", "containerd")


@dataclass(frozen=True)
class Shipped:
    """An image the cluster can start: its reference there, pull policy and credentials."""

    reference: str
    pull_policy: str
    registry: ContainerRegistry | None = None  # credentials for the pull Secret
    pull_server: str | None = None


def transfer_of(compute: ComputeRecord) -> str:
    value = str(compute.extra.get("image_transfer") or "registry")
    if value not in TRANSFERS:
        raise InvalidArgument(
            f"Compute '{compute.name}': image_transfer={value!r} is not valid: must be "
            f"{' or '.join(TRANSFERS)}.",
            hint="Attach the compute again with image_transfer='registry' or 'containerd'.",
        )
    return value


def build_and_ship(
    spec: ServiceSpec, compute: ComputeRecord, home: Path, workspace_key: str, log: Log
) -> Shipped:
    """Build revision `spec.revision`'s image and put it where the cluster finds it."""
    transfer = transfer_of(compute)
    registry = ContainerRegistry.configured(spec.workspace, os.environ)
    if transfer == "registry" and not registry.address:
        raise InvalidArgument(
            f"Compute '{compute.name}' gets images through a registry, and the workspace has none.",
            hint="Set one with ws.set_container_registry(address, username, password) "
            "(`modelport workspace set-registry`), or attach a single-node cluster on this machine "
            "with image_transfer='containerd'.",
        )
    client = images.require_engine(spec.workspace)
    context = home / f"rev-{spec.revision}" / "context"
    shutil.rmtree(context, ignore_errors=True)
    plan = plan_context(
        spec.models,
        spec.inference_config,
        resolve_nearest=spec.deployment_config.resolve_nearest,
    )
    write_context(
        plan, context, spec.workspace.path / "cache" / "wheels", log, exclude=[spec.workspace.path]
    )
    local = f"localhost/modelport-kube/{spec.name}:{workspace_key}-r{spec.revision}"
    labels = {LABEL_SERVICE: spec.name, LABEL_WORKSPACE: workspace_key}
    started = time.monotonic()
    log(f"building image {local} FROM {plan.base_image}")
    images.build_image(client, context, local, log, labels, plan.base_image)
    log(f"image built in {time.monotonic() - started:.1f}s")
    shutil.rmtree(context, ignore_errors=True)
    if transfer == "containerd":
        _import_into_containerd(client, local, compute, log)
        return Shipped(local, "Never")
    assert registry.address
    path = local.removeprefix("localhost/")
    pushed = f"{registry.address}/{path}"
    repository, _, tag = pushed.rpartition(":")
    client.images.get(local).tag(repository, tag)
    images.push_image(client, pushed, registry, log)
    client.images.remove(pushed)  # the local tag stays; the pushed name lives in the registry
    pull_server = str(compute.extra.get("pull_registry") or registry.address)
    return Shipped(f"{pull_server}/{path}", "IfNotPresent", registry, pull_server)


def _import_into_containerd(client: Any, reference: str, compute: ComputeRecord, log: Log) -> None:
    socket = compute.extra.get("containerd_socket")
    if not socket:
        raise InvalidArgument(
            f"Compute '{compute.name}' imports images into containerd but names no socket.",
            hint="Attach it again with containerd_socket='/path/to/containerd.sock'.",
        )
    ctr = shutil.which("ctr")
    if ctr is None:
        raise DeploymentError("Importing an image into containerd needs `ctr` (containerd's CLI).")
    started = time.monotonic()
    log(f"importing {reference} into containerd ({socket})")
    command = [ctr, "--address", str(socket), "--namespace", "k8s.io", "images", "import", "-"]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        try:
            for chunk in client.images.get(reference).save(named=True):
                proc.stdin.write(chunk)
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()
        error = proc.stderr.read().decode(errors="replace").strip()
        code = proc.wait()
    if code != 0:
        raise DeploymentError(f"ctr images import failed: {error.splitlines()[-1:] or code}")
    log(f"imported in {time.monotonic() - started:.1f}s")


def remove_local_images(workspace: Any, name: str, workspace_key: str) -> None:
    """Untag the service's images on the local engine (the registry keeps pushed ones).
    Best effort: listing can fail while another client removes images on a shared engine,
    and an image a build or container holds stays; neither may fail a delete."""
    if engine.engine_problem(workspace) is not None:
        return
    client = engine.connect(workspace)
    docker = engine.docker_module()
    for _ in range(3):
        try:
            found = client.images.list(filters={"label": f"{LABEL_SERVICE}={name}"})
            break
        except docker.errors.APIError:
            time.sleep(0.5)
    else:
        return
    for image in found:
        if image.labels.get(LABEL_WORKSPACE) != workspace_key:
            continue
        for tag in image.tags:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(tag)
