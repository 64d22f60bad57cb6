"""Reclaiming disk: Model.delete, `workspace gc`, killed writers; with real processes."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelport.core import Model, Workspace
from modelport.errors import NotFound
from modelport.registry.datasets import Dataset
from tests.conftest import run_cli

# Registers argv[2] as model argv[3]; pauses where argv[4] says (printing the point's name
# and waiting for a line on stdin) so the test can kill it, or race it, at that exact point.
PAUSED_REGISTER = """
import sys
import threading
import modelport.registry.artifacts as artifacts
from modelport.core import Model, Workspace

ws = Workspace.get(sys.argv[1])

def pause(point, first=threading.Lock()):
    if first.acquire(blocking=False):  # the first file only, whichever thread copies it
        print(point, flush=True)
        sys.stdin.readline()

if sys.argv[4] == "copied":  # the blob's bytes are in a .part file, not yet renamed
    digest = artifacts._digest
    def paused_digest(path):
        if path.name.endswith(".part"):
            pause("copied")
        return digest(path)
    artifacts._digest = paused_digest
elif sys.argv[4] == "before-commit":  # every blob is written, the row is not committed
    create = ws.store.create_model
    def paused_create(record):
        pause("before-commit")
        return create(record)
    ws.store.create_model = paused_create
print(Model.register(ws, sys.argv[2], sys.argv[3]).version, flush=True)
"""


def _paused(ws: Workspace, path: Path, name: str, point: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED_REGISTER, str(ws.path), str(path), name, point],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line == point, proc.communicate()
    return proc


def _blobs(ws: Workspace) -> list[Path]:
    return sorted(p for p in (ws.path / "artifacts" / "blobs").rglob("*") if p.is_file())


def _temp_files(ws: Workspace) -> list[Path]:
    tmp = ws.path / "artifacts" / "tmp"
    return sorted(tmp.iterdir()) if tmp.is_dir() else []


def _gc(ws: Workspace, *args: str) -> dict[str, object]:
    result = run_cli("workspace", "gc", "-w", str(ws.path), "-o", "json", *args)
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def _by_category(report: dict[str, object]) -> dict[str, tuple[int, int]]:
    return {c["category"]: (c["count"], c["bytes"]) for c in report["categories"]}  # type: ignore[attr-defined,index]


@pytest.fixture
def two_folders(tmp_path: Path) -> tuple[Path, Path]:
    """Two model folders sharing one file (config.json) and each holding its own weights."""
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        (folder / "config.json").write_text('{"shared": true}')
        (folder / "weights.bin").write_bytes(os.urandom(300_000))
    return a, b


def test_delete_frees_the_blobs_no_other_version_uses(
    ws: Workspace, two_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_folders
    model_a = Model.register(ws, a, "a")
    Model.register(ws, b, "b")
    cached = Path(Model.get_model_path("a", _workspace=ws))
    assert len(_blobs(ws)) == 3
    unique = ws.artifacts.blob_path(
        next(e.sha256 for e in model_a.files if e.path == "weights.bin")
    )

    model_a.delete()
    assert not unique.exists() and not cached.exists()  # the cached copy's link went too
    assert len(_blobs(ws)) == 2
    out = Path(Model(ws, "b").download(tmp_path / "dl"))
    assert (out / "config.json").read_text() == '{"shared": true}'
    assert _by_category(_gc(ws)) == {
        "model cache": (0, 0),
        "orphan blobs": (0, 0),
        "temporary files": (0, 0),
        "environment build leftovers": (0, 0),
        "container environment layers": (0, 0),  # none built in this workspace
    }


def test_dataset_blobs_are_not_collected(sqlite_ws: Workspace, tmp_path: Path) -> None:
    requests = tmp_path / "requests.txt"
    requests.write_text('{"data": [[1]]}\n')
    Dataset.register(sqlite_ws, "requests", requests)
    Model.register(sqlite_ws, requests, "same-content").delete()  # shares the dataset's blob
    assert len(_blobs(sqlite_ws)) == 1
    assert _by_category(_gc(sqlite_ws))["orphan blobs"] == (0, 0)
    assert [f for _, f in Dataset.get_by_name(sqlite_ws, "requests").local_files()]


def test_delete_racing_a_registration_of_the_same_content(
    ws: Workspace, model_folder: Path, tmp_path: Path
) -> None:
    old = Model.register(ws, model_folder, "m")
    # The new registration has found every blob by dedupe and is about to commit its row.
    racer = _paused(ws, model_folder, "m", "before-commit")
    lock = ws.path / "artifacts" / ".locks" / "store.lock"
    with open(lock) as handle, pytest.raises(BlockingIOError):  # gc and delete must wait
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    deleter = subprocess.Popen(
        [sys.executable, "-c", DELETE, str(ws.path), old.id], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while _row_exists(ws, "m", 1):  # the row goes first; freeing its blobs waits for the lock
        assert deleter.poll() is None, deleter.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    out, err = racer.communicate("go\n", timeout=120)
    assert racer.returncode == 0, err
    _, err = deleter.communicate(timeout=120)
    assert deleter.returncode == 0, err
    assert int(out.split()[-1]) == 2
    path = Path(Model(ws, "m", version=2).download(tmp_path / "dl"))
    assert (path / "weights.bin").read_bytes() == (model_folder / "weights.bin").read_bytes()
    assert len(_blobs(ws)) == 3


DELETE = """
import sys
from modelport.core import Model, Workspace
Model(Workspace.get(sys.argv[1]), id=sys.argv[2]).delete()
"""


def _row_exists(ws: Workspace, name: str, version: int) -> bool:
    try:
        ws.store.get_model(name, version)
    except NotFound:
        return False
    return True


@pytest.mark.parametrize("point", ["copied", "before-commit"])
def test_a_killed_registration_leaves_nothing_after_gc(
    ws: Workspace, tmp_path: Path, point: str
) -> None:
    folder = tmp_path / "big_model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(os.urandom(20 * 2**20))
    proc = _paused(ws, folder, "big", point)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert Model.list(ws) == []
    leftovers = _blobs(ws) + _temp_files(ws)
    assert sum(p.stat().st_size for p in leftovers) >= 20 * 2**20

    planned = _gc(ws, "--dry-run")
    assert planned["dry_run"] is True and _blobs(ws) + _temp_files(ws) == leftovers
    freed = _gc(ws)
    assert freed["total"] == planned["total"]
    assert freed["total"]["bytes"] >= 20 * 2**20  # type: ignore[index]
    assert _blobs(ws) == [] and _temp_files(ws) == []


def test_the_next_write_reclaims_part_files_of_dead_writers(
    sqlite_ws: Workspace, tmp_path: Path, model_file: Path
) -> None:
    folder = tmp_path / "big_model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(os.urandom(2**20))
    proc = _paused(sqlite_ws, folder, "big", "copied")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert len(_temp_files(sqlite_ws)) == 1
    Model.register(sqlite_ws, model_file, "other")
    assert _temp_files(sqlite_ws) == []


def test_gc_leaves_live_writers_alone(sqlite_ws: Workspace, model_folder: Path) -> None:
    writer = _paused(sqlite_ws, model_folder, "m", "copied")
    other = Model.register(sqlite_ws, model_folder, "x")  # a writer beside it: its .part stays
    assert other.version == 1 and len(_temp_files(sqlite_ws)) == 1
    _, err = writer.communicate("go\n", timeout=120)
    assert writer.returncode == 0, err
    assert Model(sqlite_ws, "m").version == 1 and _temp_files(sqlite_ws) == []


def test_gc_removes_cached_copies_of_deleted_versions_and_dead_staging(
    sqlite_ws: Workspace, model_folder: Path
) -> None:
    Model.register(sqlite_ws, model_folder, "m")
    Model.register(sqlite_ws, model_folder, "m")
    cached = Path(Model.get_model_path("m", 1, _workspace=sqlite_ws)).parent
    sqlite_ws.store.delete_model("m", 1)  # a delete that crashed before freeing anything
    staging = (
        cached.parent
        / subprocess.run(
            [sys.executable, "-c", STAGING, str(cached.parent)], capture_output=True, text=True
        ).stdout.strip()
    )
    assert staging.is_dir()

    report = _by_category(_gc(sqlite_ws))
    assert report["model cache"] == (1, 0)  # its files are still blobs version 2 uses
    assert report["temporary files"] == (1, 0)
    assert report["orphan blobs"] == (0, 0)
    assert not cached.exists() and not staging.exists()
    assert Path(Model.get_model_path("m", 2, _workspace=sqlite_ws)).is_dir()


STAGING = """
import sys
from pathlib import Path
from modelport.registry._scratch import scratch_name
name = scratch_name(".stage-")
(Path(sys.argv[1]) / name).mkdir()
print(name)
"""


def test_the_next_materialisation_reclaims_staging_of_dead_writers(
    sqlite_ws: Workspace, model_folder: Path, tmp_path: Path
) -> None:
    model = Model.register(sqlite_ws, model_folder, "m")
    base = tmp_path / "app" / "models"
    (base / "m").mkdir(parents=True)
    name = subprocess.run(
        [sys.executable, "-c", STAGING, str(base / "m")], capture_output=True, text=True
    ).stdout.strip()
    model.materialize(base)
    assert sorted(os.listdir(base / "m")) == ["1"] and name


def test_gc_prints_one_line_per_category_and_a_total(
    sqlite_ws: Workspace, model_folder: Path
) -> None:
    Model.register(sqlite_ws, model_folder, "m")
    sqlite_ws.store.delete_model("m", 1)
    result = run_cli("workspace", "gc", "-w", str(sqlite_ws.path), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "model cache: 0 (0 B)",
        "orphan blobs: 3 (200.0 kB)",
        "temporary files: 0 (0 B)",
        "environment build leftovers: 0 (0 B)",
        "container environment layers: 0 (0 B)",
        "total: 3 items, would free 200.0 kB",
    ]
    assert len(_blobs(sqlite_ws)) == 3
    result = run_cli("workspace", "gc", "-w", str(sqlite_ws.path))
    assert result.stdout.splitlines()[-1] == "total: 3 items, freed 200.0 kB"
    assert _blobs(sqlite_ws) == []


CHURN = """
import sys
from modelport.core import Model, Workspace
from modelport.errors import NotFound
from modelport.core.gc import collect
ws = Workspace.get(sys.argv[1])
for i in range(int(sys.argv[3])):
    if sys.argv[2] == "register":
        Model.register(ws, sys.argv[4], "churn")
    else:  # delete every version but the newest, then collect
        for model in Model.list(ws, name="churn")[1:]:
            try:
                model.delete()
            except NotFound:  # the other deleter got there first
                pass
        collect(ws)
"""


def test_registering_deleting_and_collecting_at_once_never_loses_a_blob(
    ws: Workspace, model_folder: Path, tmp_path: Path
) -> None:
    def start(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", CHURN, str(ws.path), *args],
            stderr=subprocess.PIPE,
            text=True,
        )

    procs = [start("register", "6", str(model_folder)) for _ in range(3)]
    procs += [start("collect", "6") for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    survivors = Model.list(ws, name="churn")
    assert survivors, "the newest version is never deleted"
    for model in survivors:  # every committed version still has all its bytes
        out = Path(model.download(tmp_path / f"dl{model.version}"))
        assert (out / "weights.bin").read_bytes() == (model_folder / "weights.bin").read_bytes()
        Model.get_model_path("churn", model.version, _workspace=ws)
    _gc(ws)
    for model in Model.list(ws, name="churn"):
        model.delete()
    assert _blobs(ws) == [] and _temp_files(ws) == []
