"""`PUT /-/table`: how the control plane hands a router pod a new table (the router is real:
`python -m modelport.routing` with two server processes on a loopback port)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from modelport._net import free_port
from modelport.routing import slots
from modelport.routing.table import RoutingTable, write_table


def _table(revision: int, admin_token_file: str | None) -> RoutingTable:
    return RoutingTable.from_dict(
        {
            "revision": revision,
            "endpoint": "push",
            "default": "a",
            "versions": [{"name": "a", "url": "http://127.0.0.1:9", "weight": 100.0}],
            "admin_token_file": admin_token_file,
        }
    )


def _wait(condition, what: str, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _router(folder: Path, port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "modelport.routing", str(folder), "127.0.0.1", str(port), "2"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_table_pushed_with_the_admin_token_reaches_every_server(tmp_path: Path) -> None:
    token = tmp_path / "admin_token"
    token.write_text("s3cret\n")
    write_table(tmp_path, _table(1, str(token)))
    port = free_port("127.0.0.1")
    proc = _router(tmp_path, port)
    url = f"http://127.0.0.1:{port}/-/table"
    try:
        _wait(lambda: slots.applied_everywhere(tmp_path, 2, 1), "router up on revision 1")
        keys = json.dumps({"primary": "p2", "secondary": "s2"})
        new = json.dumps({"table": _table(2, str(token)).to_dict(), "files": {"keys.json": keys}})
        assert httpx.put(url, content=new).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert httpx.put(url, content=new, headers=wrong).status_code == 401
        good = {"Authorization": "Bearer s3cret"}
        bad = httpx.put(url, content=b'{"table": {"revision": 3}}', headers=good)
        assert bad.status_code == 400 and "Not a routing table" in bad.json()["message"]
        stray = json.dumps({"table": _table(2, str(token)).to_dict(), "files": {"../x": "y"}})
        answer = httpx.put(url, content=stray, headers=good)
        assert answer.status_code == 400 and "Not a file the router takes" in answer.text
        assert not (tmp_path.parent / "x").exists()
        answer = httpx.put(url, content=new, headers=good)
        assert (answer.status_code, answer.json()) == (202, {"revision": 2})
        _wait(lambda: slots.applied_everywhere(tmp_path, 2, 2), "both servers on revision 2")
        assert json.loads((tmp_path / "routes.json").read_text())["revision"] == 2
        assert json.loads((tmp_path / "keys.json").read_text()) == {
            "primary": "p2",
            "secondary": "s2",
        }
        assert (tmp_path / "keys.json").stat().st_mode & 0o077 == 0
    finally:
        proc.terminate()
        proc.wait(timeout=90)


def test_a_router_without_an_admin_token_takes_no_table(tmp_path: Path) -> None:
    write_table(tmp_path, _table(1, None))
    port = free_port("127.0.0.1")
    proc = _router(tmp_path, port)
    try:
        _wait(lambda: slots.applied_everywhere(tmp_path, 2, 1), "router up")
        answer = httpx.put(f"http://127.0.0.1:{port}/-/table", content=b"{}")
        assert answer.status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=90)
