"""`modelport endpoint ...` end to end in subprocesses, as a user types it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from modelport.core import Model, Workspace
from tests.conftest import run_cli
from tests.endpoints.conftest import HEADER, SCRIPTS


def test_the_endpoint_commands(ews: Workspace, tiny: Model, tmp_path: Path) -> None:
    ic = tmp_path / "inferenceconfig.json"
    ic.write_text(json.dumps({"entryScript": str(SCRIPTS / "echo.py")}))
    dc = tmp_path / "deploymentconfig.json"
    dc.write_text(json.dumps({"computeType": "local", "workers": 1}))
    w = ["-w", str(ews.path)]

    created = run_cli("endpoint", "create", "clidemo", "-m", "tiny:1", "--ic", str(ic),
                      "--dc", str(dc), "--version-name", "blue", "--router-workers", "2",
                      "-o", "json", *w)  # fmt: skip
    assert created.returncode == 0, created.stderr
    data = json.loads(created.stdout)
    assert data["state"] == "Healthy" and data["default_version"] == "blue"
    uri = data["scoring_uri"]
    assert httpx.get(uri.removesuffix("score") + "-/routing").json()["servers"] == 2

    added = run_cli(
        "endpoint", "version", "add", "clidemo", "green", "--traffic", "10", "-o", "json", *w
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["versions"]["green"]["traffic_percentile"] == 10

    moved = run_cli("endpoint", "traffic", "clidemo", "blue=70", "green=30", "-o", "json", *w)
    assert moved.returncode == 0, moved.stderr
    shares = {n: v["traffic_percentile"] for n, v in json.loads(moved.stdout)["versions"].items()}
    assert shares == {"blue": 70, "green": 30}

    # bad input: one line naming the problem, no traceback, routing unchanged
    for args, message in (
        (["blue=150"], "outside 0-100"),
        (["blue=60", "green=30"], "takes what the others leave"),
        (["blue=default", "green=default"], "two default versions"),
        (["green"], "is not VERSION=PERCENT"),
    ):
        bad = run_cli("endpoint", "traffic", "clidemo", *args, *w)
        assert bad.returncode != 0 and message in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr
    deleting_default = run_cli("endpoint", "version", "delete", "clidemo", "blue", *w)
    assert deleting_default.returncode != 0 and "default version" in deleting_default.stderr
    r = httpx.post(uri, content=b'"x"', headers={HEADER: "green"})
    assert r.status_code == 200 and r.headers[HEADER] == "green"

    listed = run_cli("endpoint", "list", *w)
    assert listed.returncode == 0 and "clidemo" in listed.stdout and "green=30" in listed.stdout
    shown = run_cli("endpoint", "show", "clidemo", *w)
    assert shown.returncode == 0 and "Versions" in shown.stdout

    made_default = run_cli("endpoint", "traffic", "clidemo", "green=default", "blue=0", *w)
    assert made_default.returncode == 0, made_default.stderr
    assert run_cli("endpoint", "version", "delete", "clidemo", "blue", *w).returncode == 0
    assert httpx.post(uri, content=b'"x"').headers[HEADER] == "green"

    deleted = run_cli("endpoint", "delete", "clidemo", *w)
    assert deleted.returncode == 0 and "Deleted endpoint 'clidemo'" in deleted.stdout
    missing = run_cli("endpoint", "show", "clidemo", *w)
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    # the router's own size: checked before anything is deployed, one line
    bad = run_cli("endpoint", "create", "clibad", "-m", "tiny:1", "--ic", str(ic),
                  "--router-replicas", "2", "--router-max-replicas", "1", *w)  # fmt: skip
    assert bad.returncode != 0 and "router_max_replicas=1 is below router_replicas=2" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert run_cli("endpoint", "list", *w).stdout.count("clibad") == 0
