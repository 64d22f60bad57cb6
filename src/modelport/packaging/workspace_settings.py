"""A workspace's container settings: its engine and its image registry (with credentials).

Kept in `<workspace>/containers.json`, created owner-only (0600) like service keys, because it
holds the registry password. Environment variables (MODELPORT_CONTAINER_ENGINE,
MODELPORT_CONTAINER_REGISTRY[_USERNAME|_PASSWORD]) override it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.errors import InvalidArgument

if TYPE_CHECKING:
    from modelport.workspace import Workspace

FILE_NAME = "containers.json"


def settings_path(workspace: Workspace) -> Path:
    return workspace.path / FILE_NAME


def read_container_settings(workspace: Workspace) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(settings_path(workspace).read_text())
        return data
    except FileNotFoundError:
        return {}


def set_container_registry(
    workspace: Workspace, address: str | None, username: str | None, password: str | None
) -> None:
    """Name the registry `Model.package` pushes to (None forgets it)."""
    if address is not None and ("://" in address or not address.strip("/")):
        raise InvalidArgument(
            f"Invalid registry address {address!r}: give host[:port][/namespace], no scheme."
        )
    if (username is None) != (password is None):
        raise InvalidArgument("Give both the registry user name and password, or neither.")
    data = read_container_settings(workspace)
    if address is None:
        data.pop("registry", None)
    else:
        data["registry"] = {
            "address": address.rstrip("/"),
            "username": username,
            "password": password,
        }
    _write_private(settings_path(workspace), data)


def set_container_engine(workspace: Workspace, url: str | None) -> None:
    """Use the engine at `url` (unix:///…, tcp://…) for this workspace (None: detect)."""
    data = read_container_settings(workspace)
    if url is None:
        data.pop("engine", None)
    else:
        data["engine"] = url
    _write_private(settings_path(workspace), data)


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Create the file 0600 from the start, then rename over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)
