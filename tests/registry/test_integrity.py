"""A blob corrupted in place (same size) is never linked out, and re-registering repairs it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from modelport.core import Model, Workspace
from modelport.errors import IntegrityError


def _corrupt(ws: Workspace, model: Model, path: str, keep_mtime: bool = False) -> Path:
    """Flip one byte of the blob holding `path`, keeping its size (and, if asked, its mtime)."""
    entry = next(e for e in model.files if e.path == path)
    blob = ws.artifacts.blob_path(entry.sha256)
    before = blob.stat()
    os.chmod(blob, stat.S_IRUSR | stat.S_IWUSR)
    with open(blob, "r+b") as f:
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 0xFF]))
    os.chmod(blob, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    if keep_mtime:
        os.utime(blob, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert blob.stat().st_size == before.st_size
    return blob


def test_a_corrupt_blob_is_not_linked_out(
    ws: Workspace, model_folder: Path, tmp_path: Path
) -> None:
    model = Model.register(ws, model_folder, "m")
    _corrupt(ws, model, "weights.bin")
    with pytest.raises(IntegrityError) as caught:
        model.materialize(tmp_path / "service" / "models")  # what a deployment does
    message = str(caught.value)
    assert "Model m:1" in message and "'weights.bin'" in message and "Re-register" in message
    assert "\n" not in message
    assert not (tmp_path / "service" / "models" / "m" / "1").exists()  # nothing half-built
    with pytest.raises(IntegrityError, match=r"weights\.bin"):
        Model.get_model_path("m", _workspace=ws)


def test_a_cached_model_whose_blob_is_corrupted_later_is_not_served(
    ws: Workspace, model_folder: Path
) -> None:
    model = Model.register(ws, model_folder, "m")
    path = Path(Model.get_model_path("m", _workspace=ws))
    assert (path / "weights.bin").read_bytes() == (model_folder / "weights.bin").read_bytes()
    _corrupt(ws, model, "weights.bin", keep_mtime=True)  # the cache shares the blob's inode
    with pytest.raises(IntegrityError, match=r"Model m:1: file 'weights\.bin' is corrupt"):
        Model.get_model_path("m", _workspace=ws)


def test_re_registering_repairs_a_corrupt_blob(
    ws: Workspace, model_folder: Path, tmp_path: Path
) -> None:
    model = Model.register(ws, model_folder, "m")
    Model.get_model_path("m", _workspace=ws)
    blob = _corrupt(ws, model, "weights.bin")
    with pytest.raises(IntegrityError):
        model.download(tmp_path / "broken")

    assert Model.register(ws, model_folder, "m").version == 2  # what the error says to do
    good = (model_folder / "weights.bin").read_bytes()
    assert blob.read_bytes() == good
    assert not os.access(blob, os.W_OK) or os.geteuid() == 0
    assert (Path(model.download(tmp_path / "fixed")) / "weights.bin").read_bytes() == good
    for version in (1, 2):  # the stale cached copy of version 1 is rebuilt from the repair
        cached = Path(Model.get_model_path("m", version, _workspace=ws))
        assert (cached / "weights.bin").read_bytes() == good


def test_an_intact_cached_model_is_reused(ws: Workspace, model_folder: Path) -> None:
    Model.register(ws, model_folder, "m")
    first = Path(Model.get_model_path("m", _workspace=ws))
    inode = (first / "weights.bin").stat().st_ino
    second = Path(Model.get_model_path("m", _workspace=ws))
    assert second == first and (second / "weights.bin").stat().st_ino == inode
