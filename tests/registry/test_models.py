"""The model registry through the SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import joblib
import numpy as np
import pytest

from modelport.core import Model, ResourceConfiguration, Workspace
from modelport.errors import Conflict, IntegrityError, InvalidArgument, NotFound


def test_register_a_file_then_load_it_back(ws: Workspace, model_file: Path, tmp_path: Path) -> None:
    model = Model.register(
        workspace=ws,
        model_path=str(model_file),
        model_name="sklearn_regression",
        tags={"area": "diabetes", "type": "regression"},
        description="Ridge regression",
        model_framework=Model.Framework.SCIKITLEARN,
        model_framework_version="1.5",
        resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5),
    )
    assert (model.name, model.version, model.id) == (
        "sklearn_regression",
        1,
        "sklearn_regression:1",
    )
    assert model.tags == {"area": "diabetes", "type": "regression"}
    assert model.model_framework == "ScikitLearn"
    assert model.resource_configuration == ResourceConfiguration(cpu=1, memory_in_gb=0.5)

    path = Model(ws, "sklearn_regression").download(tmp_path / "out")
    assert Path(path) == tmp_path / "out" / model_file.name
    restored = joblib.load(path)
    x = np.ones((1, 10))
    assert restored.predict(x) == pytest.approx(joblib.load(model_file).predict(x))


def test_versions_count_up_per_name_and_latest_is_default(ws: Workspace, model_file: Path) -> None:
    ids = [Model.register(ws, model_file, "m").id for _ in range(3)]
    Model.register(ws, model_file, "other")
    assert ids == ["m:1", "m:2", "m:3"]
    assert Model(ws, "m").version == 3
    assert Model(ws, "m", version=2).version == 2
    assert Model(ws, id="m:1").version == 1
    assert Model(ws, id="m").version == 3


def test_deleted_versions_are_not_reused(ws: Workspace, model_file: Path) -> None:
    Model.register(ws, model_file, "m")
    Model.register(ws, model_file, "m").delete()
    assert Model.register(ws, model_file, "m").version == 3
    with pytest.raises(NotFound, match="no version 2"):
        Model(ws, "m", version=2)


def test_a_folder_keeps_its_structure(ws: Workspace, model_folder: Path, tmp_path: Path) -> None:
    model = Model.register(ws, model_folder, "folder_model")
    assert sorted(f.path for f in model.files) == ["config.json", "sub/vocab.txt", "weights.bin"]
    out = Path(model.download(tmp_path / "dl"))
    assert out == tmp_path / "dl" / "my_model_folder"
    assert (out / "sub" / "vocab.txt").read_text() == "a\nb\nc\n"
    assert (out / "weights.bin").read_bytes() == (model_folder / "weights.bin").read_bytes()


def test_child_paths_register_part_of_a_folder(ws: Workspace, model_folder: Path) -> None:
    model = Model.register(ws, model_folder, "partial", child_paths=["sub"])
    assert [f.path for f in model.files] == ["sub/vocab.txt"]


def test_identical_content_is_stored_once(ws: Workspace, model_folder: Path) -> None:
    Model.register(ws, model_folder, "a")
    Model.register(ws, model_folder, "b")
    blobs = [p for p in (ws.path / "artifacts" / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 3
    assert all(not os.access(p, os.W_OK) or os.geteuid() == 0 for p in blobs)
    assert all(p.stat().st_mode & 0o222 == 0 for p in blobs)


def test_list_filters_by_name_tags_properties_and_latest(ws: Workspace, model_file: Path) -> None:
    Model.register(ws, model_file, "a", tags={"stage": "dev"}, properties={"acc": "0.9"})
    Model.register(ws, model_file, "a", tags={"stage": "prod"})
    Model.register(ws, model_file, "b", tags={"stage": "prod", "team": "x"})

    def ids(**kw: object) -> list[str]:
        return sorted(m.id for m in Model.list(ws, **kw))  # type: ignore[arg-type]

    assert ids() == ["a:1", "a:2", "b:1"]
    assert ids(name="a") == ["a:1", "a:2"]
    assert ids(tags=["team"]) == ["b:1"]
    assert ids(tags=[["stage", "prod"]]) == ["a:2", "b:1"]
    assert ids(properties=[["acc", "0.9"]]) == ["a:1"]
    assert ids(latest=True) == ["a:2", "b:1"]
    assert set(ws.models) == {"a", "b"} and ws.models["a"].version == 2
    assert Model(ws, "a", tags=[["stage", "dev"]]).version == 1


def test_tags_properties_and_description_change(ws: Workspace, model_file: Path) -> None:
    model = Model.register(ws, model_file, "m", tags={"a": "1"}, properties={"p": "x"})
    model.add_tags({"b": "2"})
    model.remove_tags(["a"])
    model.add_properties({"q": "y"})
    model.update(description="better")
    again = Model(ws, "m")
    assert again.tags == {"b": "2"}
    assert again.properties == {"p": "x", "q": "y"}
    assert again.description == "better"
    with pytest.raises(InvalidArgument, match="cannot be changed"):
        again.add_properties({"p": "other"})


def test_download_refuses_to_overwrite_without_exist_ok(
    ws: Workspace, model_file: Path, tmp_path: Path
) -> None:
    model = Model.register(ws, model_file, "m")
    target = tmp_path / "dl"
    model.download(target)
    before = (target / model_file.name).stat().st_mtime_ns
    with pytest.raises(InvalidArgument, match="already exists"):
        model.download(target)
    assert (target / model_file.name).stat().st_mtime_ns == before
    model.download(target, exist_ok=True)


def test_corrupt_blob_is_an_error_not_a_silent_copy(
    ws: Workspace, model_file: Path, tmp_path: Path
) -> None:
    model = Model.register(ws, model_file, "m")
    blob = ws.artifacts.blob_path(model.files[0].sha256)
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[10] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="corrupt"):
        model.download(tmp_path / "dl")
    assert not (tmp_path / "dl" / model_file.name).exists()


def test_missing_blob_is_an_error(ws: Workspace, model_file: Path, tmp_path: Path) -> None:
    model = Model.register(ws, model_file, "m")
    ws.artifacts.blob_path(model.files[0].sha256).unlink()
    with pytest.raises(IntegrityError, match="missing"):
        model.download(tmp_path / "dl")


def test_get_model_path_materialises_read_only_links(ws: Workspace, model_folder: Path) -> None:
    Model.register(ws, model_folder, "folder_model")
    path = Path(Model.get_model_path("folder_model", _workspace=ws))
    assert path.name == "my_model_folder" and (path / "config.json").is_file()
    assert path.parent.name == "1" and path.parent.parent.name == "folder_model"
    assert path.parent.parent.parent.name == "azureml-models"
    assert Model.get_model_path("folder_model", version=1, _workspace=ws) == str(path)


def test_get_model_path_inside_a_service_probes_the_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "app"
    for version in (1, 2):
        folder = app / "azureml-models" / "m" / str(version)
        folder.mkdir(parents=True)
        (folder / "model.pkl").write_bytes(b"v%d" % version)
    monkeypatch.setenv("AML_APP_ROOT", str(app))
    monkeypatch.delenv("AZUREML_MODEL_DIR", raising=False)
    assert Model.get_model_path("m") == str(app / "azureml-models" / "m" / "2" / "model.pkl")
    assert Model.get_model_path("m", version=1).endswith("m/1/model.pkl")
    with pytest.raises(NotFound):
        Model.get_model_path("absent")


@pytest.mark.parametrize("bad", ["", "has space", "slash/name", "x" * 256, "-leading", "ünï"])
def test_bad_names_are_rejected_before_anything_is_written(
    ws: Workspace, model_file: Path, bad: str
) -> None:
    with pytest.raises(InvalidArgument, match="Invalid model name"):
        Model.register(ws, model_file, bad)
    assert Model.list(ws) == []
    assert not (ws.path / "artifacts" / "blobs").exists()


def test_bad_paths_and_ids(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="does not exist"):
        Model.register(ws, tmp_path / "nope.pkl", "m")
    (tmp_path / "empty.pkl").write_bytes(b"")
    with pytest.raises(InvalidArgument, match="is empty"):
        Model.register(ws, tmp_path / "empty.pkl", "m")
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(InvalidArgument, match="holds no files"):
        Model.register(ws, tmp_path / "emptydir", "m")
    with pytest.raises(InvalidArgument, match="positive integer"):
        Model(ws, id="m:notanumber")
    with pytest.raises(NotFound, match="not registered"):
        Model(ws, "m")
    with pytest.raises(InvalidArgument, match="Unknown model framework"):
        Model.register(ws, Path(__file__), "m", model_framework="caffe9")


def test_a_model_used_by_a_service_cannot_be_deleted(ws: Workspace, model_file: Path) -> None:
    model = Model.register(ws, model_file, "m")
    ws.store.put_document("service", "svc", {"name": "svc", "models": ["m:1"]})
    with pytest.raises(Conflict, match="used by service"):
        model.delete()
    assert Model(ws, "m").version == 1
