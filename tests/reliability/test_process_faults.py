"""A SIGKILLed supervisor, a stopped orphan server, a run() blocked in C."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from modelport.core import Model, Workspace
from modelport.core.environment import Environment
from modelport.core.model import InferenceConfig
from modelport.core.webservice import LocalWebservice, Webservice
from tests.reliability.conftest import eventually, port_open


def _deploy(ws: Workspace, name: str, model: Model, script: Path, **dc: object) -> Webservice:
    config = LocalWebservice.deploy_configuration(workers=1, **dc)  # type: ignore[arg-type]
    ic = InferenceConfig(entry_script=str(script), environment=Environment.current())
    service = Model.deploy(ws, name, [model], ic, config)
    service.wait_for_deployment()
    return service


def _status(service: Webservice) -> dict:
    return json.loads((service.folder / "status.json").read_text())


def _server_pids(service: Webservice) -> list[int]:
    return [pid for pid, _ in _status(service)["servers"]]


def test_a_killed_supervisor_takes_its_server_with_it_and_restart_works(
    rws: Workspace, tiny_model: Model, echo_script: Path
) -> None:
    service = _deploy(rws, "orphan-check", tiny_model, echo_script)
    assert service.run({"mode": "ok"}) == {"echo": {"mode": "ok"}}
    port = service.port
    assert port is not None
    supervisor = psutil.Process(_status(service)["supervisor_pid"])
    server = psutil.Process(_server_pids(service)[-1])

    supervisor.kill()
    supervisor.wait(30)
    # the scoring server never outlives its supervisor unnoticed
    eventually(
        lambda: not server.is_running() or server.status() == psutil.STATUS_ZOMBIE,
        "the orphaned server exiting",
    )
    eventually(lambda: not port_open(port), "the port closing")
    service.update_deployment_state()  # re-read (reload() restarts, as v1)
    assert service.state == "Unhealthy"
    assert "not running" in (service.error or "")

    service.restart()  # the port is free again: no "port in use", no Unschedulable
    assert service.state == "Healthy"
    assert service.run({"mode": "again"}) == {"echo": {"mode": "again"}}
    service.delete()
    assert not port_open(port)


def test_delete_stops_an_orphan_that_cannot_exit_by_itself(
    rws: Workspace, tiny_model: Model, echo_script: Path
) -> None:
    service = _deploy(rws, "stuck-orphan", tiny_model, echo_script)
    port = service.port
    assert port is not None
    status = _status(service)
    server = psutil.Process(_server_pids(service)[-1])
    tree = [server, *server.children(recursive=True)]
    for proc in tree:
        proc.suspend()  # stopped: the SIGTERM its supervisor's death sends stays pending
    psutil.Process(status["supervisor_pid"]).kill()
    assert port_open(port)  # the stopped server's socket still accepts connections

    service.delete()  # finds the orphan by its recorded pid and process group
    assert not port_open(port)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in tree)
    assert Webservice.list(rws) == []


def _blocking_service(rws: Workspace, name: str, model: Model, script: Path) -> Webservice:
    return _deploy(
        rws,
        name,
        model,
        script,
        scoring_timeout_ms=2000,
        environment_variables={"MODELPORT_STUCK_GRACE_S": "1"},
    )


def _served(url: str) -> bool:
    try:
        reply = httpx.post(url, json={"mode": "ok"}, timeout=10)
    except httpx.TransportError:
        return False
    return reply.status_code == 200 and reply.json() == {"echo": {"mode": "ok"}}


def _restarts(url: str) -> float:
    metrics = httpx.get(url.replace("/score", "/metrics"), timeout=10).text
    line = next(
        ln for ln in metrics.splitlines() if ln.startswith("modelport_worker_restarts_total")
    )
    return float(line.split()[-1])


def test_a_blocking_wait_in_run_ends_at_the_timeout(
    rws: Workspace, tiny_model: Model, echo_script: Path
) -> None:
    service = _blocking_service(rws, "waiting-run", tiny_model, echo_script)
    url = service.scoring_uri
    first = httpx.post(url, json={"mode": "wait"}, timeout=60)
    assert first.status_code == 500
    assert "Scoring timeout after 2000 ms" in first.json()["message"]
    # inline (a fast script), the alarm ends the wait at once; on the run() thread (a slow
    # script's, and every script's first calls) the worker is replaced after the grace period
    eventually(lambda: _served(url), "the service serving again after the blocked run()")
    assert service.state == "Healthy"


def test_a_run_stuck_in_c_gets_its_worker_replaced(
    rws: Workspace, tiny_model: Model, echo_script: Path
) -> None:
    service = _blocking_service(rws, "stuck-run", tiny_model, echo_script)
    url = service.scoring_uri
    try:  # on the thread it gets its 500 at the timeout; inline its connection drops
        status = httpx.post(url, json={"mode": "stuck"}, timeout=60).status_code
    except httpx.RemoteProtocolError:
        status = None
    assert status in (500, None)
    eventually(lambda: _served(url), "the service serving again after the stuck worker")
    assert _restarts(url) >= 1
    assert "blocked outside Python; replacing it" in service.get_logs()
    assert service.state == "Healthy"


def test_a_deploy_killed_while_building_reads_failed_and_gc_frees_its_build(
    rws: Workspace, tiny_model: Model, echo_script: Path, tmp_path: Path
) -> None:
    """The environment build waits on a package whose build blocks until we let it go."""
    from modelport.core.gc import collect

    gate = tmp_path / "gate"
    pkg = tmp_path / "slowpkg"
    pkg.mkdir()
    (pkg / "setup.py").write_text(
        "import os, time\n"
        f"while not os.path.exists({str(gate)!r}):\n"
        "    time.sleep(0.05)\n"
        "from setuptools import setup\n"
        "setup(name='slowpkg', version='1.0', py_modules=[])\n"
    )
    started = tmp_path / "started"
    code = f"""
import sys
from modelport.core import Model, Workspace
from modelport.core.environment import CondaDependencies, Environment
from modelport.core.model import InferenceConfig
from modelport.core.webservice import LocalWebservice
ws = Workspace.get({str(rws.path)!r})
env = Environment("slow-env")
env.python.conda_dependencies = CondaDependencies.create(pip_packages=[{str(pkg)!r}])
ic = InferenceConfig(entry_script={str(echo_script)!r}, environment=env)
open({str(started)!r}, "w").close()
Model.deploy(ws, "killed-deploy", [Model(ws, "tiny")], ic, LocalWebservice.deploy_configuration())
"""
    deployer = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    builders: list[psutil.Process] = []
    try:
        staging = rws.path / "envs" / ".tmp"
        eventually(lambda: staging.is_dir() and any(staging.iterdir()), "the build starting")
        builders = psutil.Process(deployer.pid).children(recursive=True)
        assert builders  # uv, building the package that waits on the gate
        deployer.kill()
        deployer.wait(30)
        # the installer dies with the deploying process: nothing keeps building for nobody
        eventually(
            lambda: (
                not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in builders)
            ),
            "the killed deploy's installer exiting",
            timeout=60,
        )
        service = Webservice(rws, "killed-deploy")
        assert service.state == "Failed"
        assert f"pid {deployer.pid}" in (service.error or "")
    finally:
        gate.write_text("")  # let an orphaned build step finish
        for proc in builders:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(builders, timeout=30)
    report = {r.category: r for r in collect(rws, dry_run=True)}
    assert report["environment build leftovers"].count >= 1
    collect(rws)
    assert not any((rws.path / "envs" / ".tmp").iterdir())
    service.delete()
