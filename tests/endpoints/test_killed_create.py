"""A create killed with SIGKILL leaves nothing behind: the next command cleans up what it
started (router, version service, record, files), and while it runs it shows as being
created."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from modelport._procs import process_alive
from modelport.core import Workspace
from modelport.core.endpoint import Endpoint
from modelport.core.webservice import Webservice
from tests.conftest import run_cli
from tests.endpoints.conftest import SCRIPTS, wait_for

CREATE = """
import sys
from modelport.core import Model, Workspace
from modelport.core.endpoint import Endpoint
from modelport.core.model import InferenceConfig
from modelport.environments import Environment

ws = Workspace.get(sys.argv[1])
config = Endpoint.deploy_configuration(version_name="a", workers=1)
inference = InferenceConfig(entry_script=sys.argv[2], environment=Environment.current())
Model.deploy(ws, "killed", [Model(ws, "tiny")], inference, config).wait_for_deployment()
print("created", flush=True)
"""


def _router_started(home: Path) -> int | None:
    """The router supervisor's PID once the create has started it."""
    try:
        return int(json.loads((home / "status.json").read_text())["supervisor_pid"])
    except (FileNotFoundError, ValueError, KeyError):
        return None


def test_a_killed_create_leaves_no_orphan(ews: Workspace, tiny: object, tmp_path: Path) -> None:
    home = Path(ews.path) / "endpoints" / "killed"
    script = tmp_path / "create.py"
    script.write_text(CREATE)
    log = tmp_path / "create.log"
    with open(log, "wb") as out:
        creator = subprocess.Popen(
            [sys.executable, str(script), str(ews.path), str(SCRIPTS / "echo.py")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # while it runs the endpoint is listed honestly: being created, by that process
        def listed() -> bool:
            return Endpoint.list(ews) != [] or creator.poll() is not None

        wait_for(listed, "the create never recorded the endpoint", timeout=120)
        assert creator.poll() is None, log.read_text()
        endpoint = Endpoint(ews, "killed")
        assert endpoint.state == "Transitioning"
        assert f"being created by process {creator.pid}" in str(endpoint.error)
        # killed once its router runs, before the create has finished
        wait_for(
            lambda: _router_started(home) is not None or creator.poll() is not None,
            "the create never started the router",
            timeout=180,
        )
        router = _router_started(home)
        os.kill(creator.pid, signal.SIGKILL)
        creator.wait()
    finally:
        if creator.poll() is None:
            creator.kill()
            creator.wait()
    assert router is not None
    assert ews.store.get_document("endpoint", "killed").get("creating"), "it finished first"
    supervisor = psutil.Process(router)
    started = supervisor.create_time()
    assert process_alive(router, started)  # the orphan this test is about

    # the next command cleans up: no endpoint, no version service, no router, no files
    listed = run_cli("endpoint", "list", "-w", str(ews.path), "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    wait_for(lambda: not process_alive(router, started), "the orphan router still runs")
    assert Endpoint.list(ews) == [] and Webservice.list(ews) == []
    assert ews.store.list_documents("service") == []
    assert not home.exists()
