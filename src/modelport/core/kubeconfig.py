"""Checks of a kubeconfig that need no cluster: the file exists, parses, holds the context.

An attach fails here, with one line saying what is wrong, instead of at the first deploy. The
parsing is the `kubernetes` client's own loader (what the target later connects with), so a
file that passes here is one the target can read; credentials are not loaded (no exec plugin
runs) and the cluster is not contacted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from modelport.errors import InvalidComputeConfig, MissingDependency

DEFAULT_LOCATION = "~/.kube/config"


@dataclass(frozen=True)
class KubeContext:
    """A context found in a kubeconfig: which file(s), which context, the API server's URL."""

    kubeconfig: str
    context: str
    server: str | None
    namespace: str | None  # the context's own default namespace, if it sets one


def default_kubeconfig() -> str:
    """What kubectl reads without --kubeconfig: $KUBECONFIG (a path list) or ~/.kube/config."""
    return os.environ.get("KUBECONFIG") or DEFAULT_LOCATION


def check_context(kubeconfig: str | None, context: str | None) -> KubeContext:
    """The context `context` (None: the file's current context) of `kubeconfig` (None: the
    default); InvalidComputeConfig naming the file and what is wrong with it."""
    try:
        from kubernetes.config import kube_config
    except ImportError:
        raise MissingDependency("kubernetes", "kubernetes", "Attaching a cluster") from None
    import yaml

    given = kubeconfig is not None
    files = kubeconfig if kubeconfig is not None else default_kubeconfig()
    paths = [Path(p).expanduser() for p in files.split(os.pathsep) if p]
    existing = [p for p in paths if p.is_file()]
    if not existing:
        shown = ", ".join(str(p.absolute()) for p in paths) or repr(files)
        raise InvalidComputeConfig(
            f"The kubeconfig file {shown} does not exist.",
            hint="Pass the file kubectl uses (--kubeconfig FILE, kubeconfig=...)"
            if given
            else "Point $KUBECONFIG at your cluster's kubeconfig, or pass kubeconfig=FILE.",
        )
    resolved = os.pathsep.join(str(p.resolve()) for p in existing)
    try:
        merged = kube_config.KubeConfigMerger(resolved).config
        loader = kube_config.KubeConfigLoader(
            config_dict=merged, config_base_path=str(existing[0].resolve().parent)
        )
        contexts = {c["name"]: c for c in loader.list_contexts()}
        current = loader.current_context["name"] if loader.current_context else None
    except (yaml.YAMLError, kube_config.ConfigException, TypeError, KeyError, AttributeError) as e:
        reason = (
            " ".join(str(e).split())
            if isinstance(e, yaml.YAMLError | kube_config.ConfigException)
            else "it is not a kubeconfig (a mapping of clusters, contexts and users)"
        )
        raise InvalidComputeConfig(
            f"The kubeconfig file {resolved} cannot be read: {reason}.",
            hint="Check it with `kubectl --kubeconfig FILE config view`.",
        ) from None
    name = context if context is not None else current
    if name is None:
        raise InvalidComputeConfig(
            f"The kubeconfig file {resolved} sets no current-context.",
            hint=f"Name a context (it has: {', '.join(contexts) or 'none'}).",
        )
    if name not in contexts:
        raise InvalidComputeConfig(
            f"The kubeconfig file {resolved} has no context '{name}' "
            f"(it has: {', '.join(sorted(contexts)) or 'none'}).",
            hint="Pick one of those (`kubectl config get-contexts` lists them).",
        )
    try:
        loader.set_active_context(name)  # the context's cluster must be in the file
        entry = contexts[name].get("context") or {}
        cluster = merged["clusters"].get_with_name(entry["cluster"])
        server = cluster["cluster"].safe_get("server")
    except (kube_config.ConfigException, TypeError, KeyError) as e:
        raise InvalidComputeConfig(
            f"Context '{name}' of {resolved} is incomplete: {' '.join(str(e).split())}.",
            hint="Each context needs a cluster with a server URL (and usually a user).",
        ) from None
    return KubeContext(
        kubeconfig=resolved,
        context=name,
        server=str(server) if server else None,
        namespace=entry.get("namespace"),
    )
