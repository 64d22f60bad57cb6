"""Kubeconfig files written by the tests, and the test cluster when one runs.

`refused_kubeconfig` points at 127.0.0.1 on a port this test holds bound but not listening, so
a connection is refused for certain (no other process can take the port meanwhile).
The live cluster's status through this façade is checked in tests/targets/kubernetes.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml


def write_kubeconfig(path: Path, server: str, contexts: tuple[str, ...] = ("dev",)) -> Path:
    """A kubeconfig with one cluster and user per context; the first is current."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": c, "cluster": {"server": server}} for c in contexts],
        "users": [{"name": c, "user": {"token": "not-a-real-token"}} for c in contexts],
        "contexts": [{"name": c, "context": {"cluster": c, "user": c}} for c in contexts],
        "current-context": contexts[0],
    }
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.contextmanager
def refused_kubeconfig_in(folder: Path) -> Iterator[Path]:
    """A kubeconfig (contexts dev, current, and staging) whose server refuses connections."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = held.getsockname()[1]
        yield write_kubeconfig(
            folder / "kubeconfig", f"https://127.0.0.1:{port}", ("dev", "staging")
        )


@pytest.fixture
def refused_kubeconfig(tmp_path: Path) -> Iterator[Path]:
    with refused_kubeconfig_in(tmp_path) as path:
        yield path


def kubernetes_target_status() -> object | None:
    """The installed Kubernetes target's cluster_status, or None while it is not there."""
    from modelport.deploy.target import get_target, target_names

    if "kubernetes" not in target_names():
        return None
    return getattr(get_target("kubernetes"), "cluster_status", None)
