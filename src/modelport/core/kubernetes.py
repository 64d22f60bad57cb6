"""Kubernetes services for GitOps: `render_manifests(...)` writes the objects the Kubernetes
target would apply, as YAML (`modelport k8s render`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelport.configs import DeploymentConfig, InferenceConfig


def render_manifests(
    workspace: Any,
    name: str,
    models: Sequence[Any],
    inference_config: InferenceConfig | None,
    deployment_config: DeploymentConfig | None,
    output_dir: str | os.PathLike[str],
    image: str | None = None,
    exposure: str = "load-balancer",
    compute: str | None = None,
) -> list[Path]:
    """The service's Secret, Deployment, Service, PodDisruptionBudget (and autoscaler) as
    YAML files in `output_dir`; the paths written."""
    from modelport.registry.models import resolve_models
    from modelport.runtimes.config import no_code_config
    from modelport.targets.kubernetes.gitops import render_files

    resolved = resolve_models(workspace, list(models))
    dc = deployment_config or DeploymentConfig(compute_type="kubernetes")
    if inference_config is None or inference_config.entry_script is None:
        environment = inference_config.environment if inference_config is not None else None
        inference_config, dc = no_code_config(resolved, dc, environment)
    return render_files(
        workspace, name, resolved, inference_config, dc, Path(output_dir), image, exposure, compute
    )
