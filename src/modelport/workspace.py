"""Workspace: where models, environments, runs and services live.

The embedded default is a folder (`./.modelport`) holding `config.json`, a SQLite database
and a content-addressed artifact store. A config may point the metadata at PostgreSQL
(`"database_url": "postgresql+psycopg://…"`) while artifacts stay in the folder.
"""

from __future__ import annotations

import json
import os
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from modelport import settings
from modelport.errors import InvalidArgument, NotFound
from modelport.registry.artifacts import ArtifactStore

if TYPE_CHECKING:
    from modelport.registry.store import MetadataStore

DEFAULT_DIR = ".modelport"
CONFIG_NAME = "config.json"


class Workspace:
    """A handle on one workspace folder; cheap to create, opens its stores on first use."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        _config: dict[str, Any] | None = None,
        **cloud: Any,
    ) -> None:
        """Open the workspace at `path` (default: MODELPORT_WORKSPACE or ./.modelport).

        v1's `Workspace(subscription_id=…, resource_group=…, workspace_name=…)` opens the
        default workspace; the cloud identifiers are kept for display.
        """
        self.path = Path(path if path is not None else default_path()).resolve()
        self._config = _config if _config is not None else _read_config(self.path / CONFIG_NAME)
        self._azure = {
            k: str(cloud[k]) for k in ("subscription_id", "resource_group") if cloud.get(k)
        }

    # -- constructors (Azure v1 names) -------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        name: str | None = None,
        database_url: str | None = None,
        exist_ok: bool = True,
        **cloud: Any,
    ) -> Self:
        """Create the workspace folder, its config and its database; idempotent by default.

        v1's cloud arguments (`subscription_id`, `resource_group`, `location`, …) are accepted
        and ignored but for display, so `Workspace.create(name=…, subscription_id=…)` ports.
        """
        folder = Path(path if path is not None else default_path()).resolve()
        config_file = folder / CONFIG_NAME
        if config_file.exists():
            if not exist_ok:
                raise InvalidArgument(
                    f"A workspace already exists at {folder}.",
                    hint="Use it with Workspace.get(path), or pass exist_ok=True.",
                )
            ws = cls(folder)
        else:
            if folder.exists() and not folder.is_dir():
                raise InvalidArgument(f"{folder} exists and is not a folder.")
            ws_name = name or (folder.parent.name if folder.name == DEFAULT_DIR else folder.name)
            ws_name = re.sub(r"[^A-Za-z0-9_.-]", "-", ws_name) or "workspace"
            config: dict[str, Any] = {"workspace_name": ws_name}
            if database_url:
                config["database_url"] = database_url
            folder.mkdir(parents=True, exist_ok=True)
            _write_json_atomic(config_file, config)
            ws = cls(folder, _config=config)
        ws.store  # noqa: B018 - create the schema now so errors surface at create time
        return ws

    @classmethod
    def get(cls, path: str | os.PathLike[str] | None = None, **cloud: Any) -> Self:
        """Open an existing workspace; NotFound says how to create one.

        v1's `Workspace.get(name=…, subscription_id=…, resource_group=…)` opens the default
        workspace (MODELPORT_WORKSPACE or ./.modelport).
        """
        folder = Path(path if path is not None else default_path())
        if folder.is_file():
            return cls.from_config(folder)
        if not (folder / CONFIG_NAME).is_file():
            raise NotFound(
                f"No modelport workspace at {folder.resolve()}.",
                hint="Create one with `modelport workspace create` (or Workspace.create(path)), "
                "or point MODELPORT_WORKSPACE / -w at an existing one.",
            )
        return cls(folder)

    @classmethod
    def from_config(
        cls, path: str | os.PathLike[str] | None = None, _file_name: str | None = None
    ) -> Self:
        """Open the workspace a config file names.

        `path` may be a config file or a folder; without it the current folder and its
        parents are searched for `.modelport/config.json`, `config.json` and
        `.azureml/config.json`. An Azure `config.json` (subscription, resource group) opens
        the `.modelport` folder beside it, so notebooks keep their first line unchanged.
        """
        config_file = _find_config(Path(path) if path is not None else None, _file_name)
        config = _read_config(config_file)
        here = config_file.parent
        if "workspace_path" in config:  # a pointer written by ws.write_config()
            target = Path(config["workspace_path"])
            ws = cls.get(target if target.is_absolute() else here / target)
        elif "subscription_id" in config or "resource_group" in config:  # an Azure config
            base = here.parent if here.name == ".azureml" else here
            ws = cls.create(base / DEFAULT_DIR, name=config.get("workspace_name"))
        else:  # the workspace folder's own config
            ws = cls(here, _config=config)
        ws._azure = {k: config[k] for k in ("subscription_id", "resource_group") if k in config}
        return ws

    def write_config(
        self, path: str | os.PathLike[str] | None = None, file_name: str | None = None
    ) -> Path:
        """Write a small JSON config that `Workspace.from_config` can find from elsewhere."""
        folder = Path(path) if path is not None else Path.cwd() / ".azureml"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (file_name or CONFIG_NAME)
        config = {
            "workspace_name": self.name,
            "workspace_path": os.path.relpath(self.path, folder.resolve()),
        }
        if "database_url" in self._config:
            config["database_url"] = self._config["database_url"]
        _write_json_atomic(target, config)
        return target

    # -- identity (honest local values for v1 notebooks) ---------------------------------
    @property
    def name(self) -> str:
        return str(self._config.get("workspace_name", self.path.name))

    @property
    def location(self) -> str:
        return "local"

    @property
    def resource_group(self) -> str:
        return self._azure.get("resource_group", "local")

    @property
    def subscription_id(self) -> str:
        return self._azure.get("subscription_id", "local")

    @property
    def database_url(self) -> str:
        url = self._config.get("database_url") or settings.get("MODELPORT_DATABASE_URL")
        return str(url) if url else f"sqlite:///{self.path / 'modelport.db'}"

    # -- stores ------------------------------------------------------------------------
    @cached_property
    def store(self) -> MetadataStore:
        url = self.database_url
        if url.startswith("sqlite:///") and url != "sqlite:///":
            from modelport.registry.sqlite_reads import SQLiteStore

            return SQLiteStore(url)
        from modelport.registry.sql import SQLStore

        return SQLStore(url)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        return ArtifactStore(self.path / "artifacts")

    def model_users(self, model_id: str) -> list[str]:
        """What uses a model version and so keeps it from being deleted ("service 'x'", …).

        The registry knows nothing of deployment: the v1 façade's Workspace answers for
        services; a bare workspace has no users.
        """
        return []

    def get_details(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "location": self.location,
            "database": _redact(self.database_url),
            "artifacts": str(self.path / "artifacts"),
        }

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]

    def __repr__(self) -> str:
        return f"Workspace(name={self.name!r}, path='{self.path}')"


def default_path() -> Path:
    return Path(settings.get("MODELPORT_WORKSPACE") or DEFAULT_DIR)


def _find_config(path: Path | None, file_name: str | None) -> Path:
    names = [file_name] if file_name else [CONFIG_NAME]
    if path is not None and path.is_file():
        return path
    if path is not None:
        candidates = [path / n for n in names] + [path / DEFAULT_DIR / n for n in names]
        candidates += [path / ".azureml" / n for n in names]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise NotFound(
            f"No workspace config found at {path}.",
            hint="Create one with `modelport workspace create` or ws.write_config().",
        )
    here = Path.cwd()
    for folder in [here, *here.parents]:
        for candidate in (
            folder / DEFAULT_DIR / CONFIG_NAME,
            folder / CONFIG_NAME,
            folder / ".azureml" / CONFIG_NAME,
        ):
            if candidate.is_file():
                return candidate
    raise NotFound(
        "No workspace config found in this folder or its parents.",
        hint="Create a workspace with `modelport workspace create`.",
    )


def _read_config(config_file: Path) -> dict[str, Any]:
    try:
        data = json.loads(config_file.read_text())
    except FileNotFoundError:
        raise NotFound(
            f"No modelport workspace at {config_file.parent}.",
            hint="Create one with `modelport workspace create`.",
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"Workspace config {config_file} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"Workspace config {config_file} must hold a JSON object.")
    return data


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)
