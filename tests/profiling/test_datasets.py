"""Request datasets: registration, versions, the v1 Tabular/Datastore path, bad input."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from modelport.core import Workspace
from modelport.core.dataset import Dataset, Datastore, dataset_type_definitions
from modelport.errors import AlreadyExists, InvalidArgument, NotFound
from modelport.profiling.inputs import load_requests


def test_register_versions_and_get(pws: Workspace, tmp_path: Path) -> None:
    first = tmp_path / "a.txt"
    first.write_text('{"x": 1}\n{"x": 2}\n')
    v1 = Dataset.register(pws, "reqs", first)
    first.write_text('{"x": 3}\n')
    v2 = Dataset.register(pws, "reqs", first)
    assert (v1.version, v2.version) == (1, 2)
    assert Dataset.get_by_name(pws, "reqs").version == 2
    assert Dataset.get_by_name(workspace=pws, name="reqs", version=1).files == v1.files
    assert Dataset.get(pws, "reqs:1").id == "reqs:1"
    assert [d.id for d in Dataset.list(pws)] == ["reqs:2"]
    _, requests = load_requests(pws, v1)
    assert [(r.where, r.body) for r in requests] == [
        ("line 1", b'{"x": 1}'),
        ("line 2", b'{"x": 2}'),
    ]
    v2.delete()
    assert Dataset.get_by_name(pws, "reqs").version == 1


def test_seed_tabular_path_through_the_datastore(pws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "sample_request_data.txt"
    source.write_text("\n".join(['{"data": [[1]]}'] * 100))
    store = Datastore.get_default(pws)
    store.upload_files([str(source)], target_path="sample_request_data", show_progress=False)
    tabular = Dataset.Tabular.from_delimited_files(
        [(store, "sample_request_data/sample_request_data.txt")],
        separator="\n",
        infer_column_types=True,
        header=dataset_type_definitions.PromoteHeadersBehavior.NO_HEADERS,
    )
    registered = tabular.register(
        workspace=pws, name="sample_request_data", create_new_version=True
    )
    again = tabular.register(
        workspace=pws, name="sample_request_data"
    )  # same content: same version
    assert registered.version == again.version == 1
    _, requests = load_requests(pws, Dataset.get_by_name(workspace=pws, name="sample_request_data"))
    assert len(requests) == 100 and requests[-1].where == "line 100"


def test_folder_is_one_request_per_file(pws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "bodies"
    folder.mkdir()
    (folder / "b.json").write_text('{"b": 1}')
    (folder / "a.json").write_text('{"a": 1}\n{"still": "one request"}')
    found = Dataset.register(pws, "bodies", folder)
    _, requests = load_requests(pws, found)
    assert [r.where for r in requests] == ["file a.json", "file b.json"]


def test_concurrent_registrations_get_distinct_versions(pws: Workspace, tmp_path: Path) -> None:
    paths = []
    for i in range(6):
        path = tmp_path / f"r{i}.txt"
        path.write_text(f'{{"i": {i}}}\n')
        paths.append(path)
    versions: list[int] = []
    threads = [
        threading.Thread(
            target=lambda p=p: versions.append(Dataset.register(pws, "race", p).version)
        )
        for p in paths
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(versions) == [1, 2, 3, 4, 5, 6]


def test_bad_input(pws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="does not exist"):
        Dataset.register(pws, "nope", tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(InvalidArgument, match="is empty"):
        Dataset.register(pws, "empty", empty)
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n  \n")
    with pytest.raises(InvalidArgument, match="holds no requests"):
        load_requests(pws, Dataset.register(pws, "blank", blank))
    with pytest.raises(NotFound, match="Dataset 'unknown' does not exist"):
        Dataset.get_by_name(pws, "unknown")
    with pytest.raises(NotFound, match="no version 7"):
        Dataset.get_by_name(pws, "blank", version=7)
    with pytest.raises(InvalidArgument, match=r"file /no/such\.txt does not exist"):
        load_requests(pws, "/no/such.txt")
    other = tmp_path / "other.txt"
    other.write_text("{}\n")
    with pytest.raises(AlreadyExists, match="different content"):
        Dataset.register(pws, "blank", other, create_new_version=False)
    with pytest.raises(InvalidArgument, match="leaves the datastore"):
        Datastore.get_default(pws).upload_files([str(other)], target_path="../../x")
