"""A full disk under the artifact store: a clean one-line error, nothing partial, recovery."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.core import Model, Workspace
from modelport.core.gc import collect
from modelport.errors import StorageFull


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MB tmpfs (needs root, as CI runs); skipped with the reason otherwise."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_registering_onto_a_full_disk_fails_cleanly_and_recovers(
    small_disk: Path, tmp_path: Path
) -> None:
    ws = Workspace.create(small_disk / "ws")
    try:
        folder = tmp_path / "too_big"
        folder.mkdir()
        for i in range(4):  # 4 x 2 MB: the first files fit, the last do not
            (folder / f"part{i}.bin").write_bytes(os.urandom(2 * 2**20))
        before = _bytes_under(small_disk / "ws" / "artifacts")
        with pytest.raises(StorageFull) as caught:
            Model.register(ws, folder, "too-big")
        message = str(caught.value)
        assert "\n" not in message and "No space left" in message and "gc" in message
        assert Model.list(ws) == []  # no version, not even a partial one
        assert not list((small_disk / "ws" / "artifacts").rglob("*.part"))
        collect(ws)  # what the failed registration did store is unreferenced: gc frees it
        assert _bytes_under(small_disk / "ws" / "artifacts") <= before + 4096

        small = tmp_path / "small.bin"
        small.write_bytes(b"weights")
        model = Model.register(ws, small, "small")  # the store keeps working
        assert Path(model.download(tmp_path / "out")).read_bytes() == b"weights"
    finally:
        ws.close()
