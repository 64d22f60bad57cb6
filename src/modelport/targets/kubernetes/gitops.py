"""`modelport k8s render`: a service's objects as YAML files, for users who apply them with
their own tools (kubectl, Argo CD, Flux). The objects are exactly those the target applies
(`manifests.render`), one file each, in apply order: `00-secret.yaml`, `01-deployment.yaml`, ...

The Secret file holds the service's keys and token secret: keep it out of Git (or replace it
with your sealed/external secret of the same name).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.configs import DeploymentConfig, InferenceConfig
from modelport.deploy.computes import ComputeRecord, get_compute
from modelport.deploy.target import ServiceSpec
from modelport.errors import InvalidArgument
from modelport.packaging.engine import workspace_key
from modelport.registry.models import Model
from modelport.targets.kubernetes import images, manifests
from modelport.targets.kubernetes.cluster import Cluster
from modelport.targets.kubernetes.target import _secret_values

if TYPE_CHECKING:
    from modelport.workspace import Workspace


def render_files(
    workspace: Workspace,
    name: str,
    models: list[Model],
    inference_config: InferenceConfig,
    deployment_config: DeploymentConfig,
    output_dir: Path,
    image: str | None = None,
    exposure: str = "load-balancer",
    compute: str | None = None,
    log: images.Log = lambda line: None,
) -> list[Path]:
    """Write the objects into `output_dir` (new or empty); the files written. Without `image`
    the image is built and pushed to the workspace's registry first. With `compute` the
    API versions are those its cluster serves (else current Kubernetes')."""
    import yaml

    if exposure not in manifests.EXPOSURES:
        raise InvalidArgument(
            f"exposure={exposure!r} is not valid: must be {', '.join(manifests.EXPOSURES)}."
        )
    if output_dir.exists() and any(output_dir.iterdir()):
        raise InvalidArgument(f"{output_dir} is not empty.", hint="Give a new or empty folder.")
    record = get_compute(workspace, compute) if compute else None
    versions = Cluster.connect(record).versions() if record else manifests.ApiVersions()
    key = workspace_key(str(workspace.path))
    pull_policy = "IfNotPresent"
    if image is None:
        spec = ServiceSpec(workspace, name, 1, models, inference_config, deployment_config)
        shipper = ComputeRecord("render", extra={"image_transfer": "registry"})
        shipped = images.build_and_ship(
            spec, shipper, workspace.path / "cache" / "render" / name, key, log
        )
        image, pull_policy = shipped.reference, shipped.pull_policy
    namespace = deployment_config.namespace or (record.namespace if record else "default")
    m = manifests.Manifest(
        name=name,
        namespace=namespace,
        workspace_key=key,
        revision=1,
        image=image,
        deployment_config=deployment_config,
        exposure=exposure,
        port=deployment_config.port or (5001 if exposure == "host-network" else None),
        image_pull_policy=pull_policy,
        secret_data=_secret_values(
            None, deployment_config.primary_key, deployment_config.secondary_key
        ),
        versions=versions,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, obj in enumerate(manifests.render(m)):
        path = output_dir / f"{index:02d}-{obj['kind'].lower()}.yaml"
        text = yaml.safe_dump(obj, sort_keys=False)
        if obj["kind"] == "Secret":
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            path.write_text(text)
        written.append(path)
    return written
