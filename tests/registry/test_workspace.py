"""Workspaces: creating, finding and configuring them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelport.core import Workspace
from modelport.errors import InvalidArgument, NotFound


def test_create_is_idempotent_and_get_finds_it(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj" / ".modelport")
    assert ws.name == "proj"
    assert (ws.path / "modelport.db").is_file()
    assert Workspace.create(tmp_path / "proj" / ".modelport").path == ws.path
    with pytest.raises(InvalidArgument, match="already exists"):
        Workspace.create(tmp_path / "proj" / ".modelport", exist_ok=False)
    assert Workspace.get(tmp_path / "proj" / ".modelport").name == "proj"


def test_get_without_a_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="modelport workspace create"):
        Workspace.get(tmp_path / "nothing")


def test_write_config_then_from_config_from_another_folder(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws", name="team")
    config = ws.write_config(path=tmp_path / "elsewhere", file_name="ws_config.json")
    again = Workspace.from_config(path=str(config))
    assert again.path == ws.path and again.name == "team"
    assert json.loads(config.read_text())["workspace_name"] == "team"


def test_from_config_searches_the_current_folder_and_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace.create(tmp_path / ".modelport")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert Workspace.from_config().path == ws.path


def test_an_azure_config_json_opens_a_local_workspace_beside_it(tmp_path: Path) -> None:
    azure = tmp_path / ".azureml"
    azure.mkdir()
    (azure / "config.json").write_text(
        json.dumps({"subscription_id": "sub-123", "resource_group": "rg", "workspace_name": "prod"})
    )
    ws = Workspace.from_config(path=str(tmp_path))
    assert ws.path == (tmp_path / ".modelport").resolve()
    assert (ws.name, ws.subscription_id, ws.resource_group, ws.location) == (
        "prod",
        "sub-123",
        "rg",
        "local",
    )


def test_a_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "config.json").write_text("{not json")
    with pytest.raises(InvalidArgument, match="not valid JSON"):
        Workspace.get(tmp_path / "ws")


def test_database_url_in_config_is_used(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    ws = Workspace.create(tmp_path / "ws", database_url=url)
    ws.store.list_models()
    assert (tmp_path / "elsewhere.db").is_file()
    assert Workspace.get(tmp_path / "ws").database_url == url


def test_v1_cloud_arguments_open_the_default_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    created = Workspace.create(
        name="myworkspace",
        subscription_id="sub",
        resource_group="rg",
        create_resource_group=True,
        location="eastus2",
    )
    assert created.name == "myworkspace"
    opened = Workspace(subscription_id="sub", resource_group="rg", workspace_name="myworkspace")
    assert opened.path == created.path and opened.subscription_id == "sub"
    assert Workspace.get(name="myworkspace", subscription_id="sub").path == created.path
    assert opened.webservices == {}


def test_v1_exception_names_import() -> None:
    from modelport.errors import NotFound
    from modelport.exceptions import WebserviceException

    assert issubclass(WebserviceException, Exception)
    from modelport.core.webservice import ServiceNotFound

    assert issubclass(ServiceNotFound, WebserviceException) and issubclass(
        ServiceNotFound, NotFound
    )
