"""Concurrent registrations and crashes, with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from modelport.core import Model, Workspace
from modelport.core.gc import collect

REGISTER = """
import sys
from modelport.core import Model, Workspace
ws = Workspace.get(sys.argv[1])
model = Model.register(ws, sys.argv[2], sys.argv[3])
print(model.version)
"""


def _register_in(n: int, ws: Workspace, path: Path, name: str) -> list[subprocess.Popen[str]]:
    env = {**os.environ}
    if "database_url" in ws._config:
        env.pop("MODELPORT_DATABASE_URL", None)
    return [
        subprocess.Popen(
            [sys.executable, "-c", REGISTER, str(ws.path), str(path), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n)
    ]


def test_eight_processes_registering_one_name_get_consecutive_versions(
    ws: Workspace, model_folder: Path
) -> None:
    procs = _register_in(8, ws, model_folder, "shared")
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    versions = sorted(int(out) for out, _ in results)
    assert versions == list(range(1, 9))
    assert sorted(m.version for m in Model.list(ws, name="shared")) == versions


def test_a_registration_killed_midway_leaves_no_partial_version(
    ws: Workspace, tmp_path: Path
) -> None:
    big = tmp_path / "big_model"
    big.mkdir()
    for i in range(300):
        (big / f"part{i:03}.bin").write_bytes(os.urandom(64 * 1024))
    (proc,) = _register_in(1, ws, big, "big")
    tmp_dir = ws.path / "artifacts" / "tmp"
    deadline = time.monotonic() + 60
    while not (tmp_dir.is_dir() and any(tmp_dir.iterdir())):  # wait until it is copying
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the registration finished before it was killed"

    assert Model.list(ws, name="big") == []
    freed = collect(ws)  # `modelport workspace gc`: the dead writer's blobs and .part files
    assert sum(r.count for r in freed) > 0  # its .part at least (maybe still empty when killed)
    assert not any(p.is_file() for p in (ws.path / "artifacts").glob("blobs/*/*"))
    assert not any(tmp_dir.iterdir())
    again = Model.register(ws, big, "big")
    assert again.version == 1 and len(again.files) == 300
    assert again.download(tmp_path / "dl")
