"""The seed's local deployment workflow, end to end, with real processes and ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import joblib
import numpy as np
import pytest

from modelport.core import Model, Workspace
from modelport.core.model import InferenceConfig
from modelport.core.webservice import LocalWebservice, Webservice, WebserviceException
from modelport.environments import Environment
from modelport.errors import AlreadyExists, Conflict, NotFound
from tests.conftest import SEED_SCORE
from tests.deploy.conftest import SCRIPTS

SEED_REQUEST = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}


def _config(script: str | None = None) -> InferenceConfig:
    """The seed's score.py, or a script of tests/deploy/scripts by name."""
    path = SEED_SCORE if script is None else SCRIPTS / script
    return InferenceConfig(entry_script=str(path), environment=Environment.current())


def _deploy(
    ws: Workspace, name: str, models: list[Model], script: str | None = None, **dc: object
) -> Webservice:
    config = LocalWebservice.deploy_configuration(workers=1, **dc)  # type: ignore[arg-type]
    service = Model.deploy(ws, name, models, _config(script), config)
    service.wait_for_deployment(show_output=True)
    return service


def _predict(path: Path, request: dict = SEED_REQUEST) -> list[float]:
    """What the model in `path` predicts for `request`, in this process."""
    return joblib.load(path).predict(np.array(request["data"])).tolist()


def test_deploy_call_update_and_delete(
    dws: Workspace, ridge: Model, model_file: Path, tmp_path: Path
) -> None:
    service = _deploy(dws, "myservice", [ridge])
    assert service.state == "Healthy"
    expected = joblib.load(model_file).predict(np.array(SEED_REQUEST["data"])).tolist()

    response = httpx.post(
        service.scoring_uri,
        content=json.dumps(SEED_REQUEST),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json() == pytest.approx(expected)
    assert service.run(json.dumps(SEED_REQUEST)) == pytest.approx(expected)
    swagger = httpx.get(service.swagger_uri).json()
    assert swagger["info"]["title"] == "myservice"
    assert [s.name for s in Webservice.list(dws)] == ["myservice"]

    # a new model version rolls out on the same URI
    other = tmp_path / "v2" / model_file.name
    other.parent.mkdir()
    x = np.random.default_rng(1).normal(size=(40, 10))
    from sklearn.linear_model import Ridge

    joblib.dump(Ridge().fit(x, -x.sum(axis=1)), other)
    v2 = Model.register(dws, other, "sklearn_regression")
    uri = service.scoring_uri
    service.update(models=[v2])
    assert service.scoring_uri == uri and service.state == "Healthy"
    assert service.run(SEED_REQUEST) == pytest.approx(
        joblib.load(other).predict(np.array(SEED_REQUEST["data"])).tolist()
    )
    with pytest.raises(Conflict, match="used by service"):
        v2.delete()

    port = service.port
    service.delete()
    assert Webservice.list(dws) == []
    with socket.socket() as probe:  # the port is free again
        probe.bind(("127.0.0.1", port))
    with pytest.raises(NotFound, match="does not exist"):
        service.delete()


def test_key_auth_with_regeneration(dws: Workspace, ridge: Model) -> None:
    service = _deploy(dws, "keyed", [ridge], auth_enabled=True)
    primary, secondary = service.get_keys()
    assert stat.S_IMODE((service.folder / "keys.json").stat().st_mode) == 0o600

    def score(key: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.post(service.scoring_uri, json=SEED_REQUEST, headers=headers)

    assert score(None).status_code == 401
    assert "Authorization" in score(None).json()["message"]
    assert score("wrong").status_code == 401
    assert score(primary).status_code == 200 and score(secondary).status_code == 200
    assert httpx.get(service.scoring_uri.replace("/score", "/")).text == "Healthy"

    service.regen_key("Primary")
    new_primary, same_secondary = service.get_keys()
    assert new_primary != primary and same_secondary == secondary
    assert score(primary).status_code == 401
    assert score(new_primary).status_code == 200


def test_token_auth(dws: Workspace, ridge: Model, model_file: Path) -> None:
    from modelport.deploy import credentials as auth

    service = _deploy(dws, "tokened", [ridge], token_auth_enabled=True)
    token, refresh_after = service.get_token()
    assert refresh_after.timestamp() > time.time()
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.post(service.scoring_uri, json=SEED_REQUEST, headers=headers).status_code == 200
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    bad = httpx.post(
        service.scoring_uri, json=SEED_REQUEST, headers={"Authorization": f"Bearer {tampered}"}
    )
    assert bad.status_code == 401
    expired, _ = auth.issue_token(service.folder / "token_secret", "tokened", lifetime_s=-10)
    late = httpx.post(
        service.scoring_uri, json=SEED_REQUEST, headers={"Authorization": f"Bearer {expired}"}
    )
    assert late.status_code == 401 and "expired" in late.json()["message"]
    assert service.run(SEED_REQUEST) == pytest.approx(_predict(model_file))


def test_an_init_error_fails_the_deployment_with_the_reason(dws: Workspace) -> None:
    service = Model.deploy(
        dws,
        "broken",
        [],
        _config("broken_init.py"),
        LocalWebservice.deploy_configuration(workers=1),
    )
    with pytest.raises(WebserviceException, match="cannot find the weights file"):
        service.wait_for_deployment()
    assert service.state == "Failed"
    assert "cannot find the weights file" in (service.error or "")
    port = service.port
    with socket.socket() as probe:  # nothing is left listening
        probe.bind(("127.0.0.1", port))


def test_a_taken_port_is_unschedulable(dws: Workspace, ridge: Model) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(WebserviceException, match=f"Unschedulable: port {port}"):
            Model.deploy(
                dws, "clash", [ridge], _config(), LocalWebservice.deploy_configuration(port=port)
            )
    clash = Webservice(dws, "clash")
    assert clash.state == "Unschedulable" and f"port {port}" in (clash.error or "")
    with pytest.raises(WebserviceException, match="Unschedulable"):
        clash.wait_for_deployment()
    config = LocalWebservice.deploy_configuration(workers=1)
    fixed = Model.deploy(dws, "clash", [ridge], _config(), config, overwrite=True)
    fixed.wait_for_deployment()
    assert fixed.state == "Healthy"


def test_more_cores_than_the_machine_has_is_unschedulable(dws: Workspace, ridge: Model) -> None:
    config = LocalWebservice.deploy_configuration(cpu_cores=512)
    with pytest.raises(WebserviceException, match="Unschedulable: it asks for 512 CPU cores"):
        Model.deploy(dws, "greedy", [ridge], _config(), config)
    assert Webservice(dws, "greedy").state == "Unschedulable"


def test_names_taken_models_deleted_and_bad_names(
    dws: Workspace, ridge: Model, model_file: Path
) -> None:
    _deploy(dws, "taken", [ridge], script="echo.py")
    with pytest.raises(AlreadyExists, match="overwrite=True"):
        Model.deploy(dws, "taken", [ridge], _config("echo.py"))
    again = Model.deploy(
        dws,
        "taken",
        [ridge],
        _config("echo.py"),
        LocalWebservice.deploy_configuration(workers=1),
        overwrite=True,
    )
    again.wait_for_deployment()
    assert len(Webservice.list(dws)) == 1

    gone = Model.register(dws, model_file, "gone")
    gone.delete()
    with pytest.raises(NotFound, match="not registered"):
        Model.deploy(dws, "ghost", [gone], _config())
    with pytest.raises(Exception, match="Invalid service name"):
        Model.deploy(dws, "Bad_Name", [ridge], _config())


def test_multi_model_service(dws: Workspace, model_file: Path, tmp_path: Path) -> None:
    # two different models (same file name, as v1 multi-model folders often have): a service
    # that hands one model's files to the other cannot pass
    from sklearn.linear_model import Ridge

    other = tmp_path / "other" / model_file.name
    other.parent.mkdir()
    x = np.random.default_rng(7).normal(size=(40, 10))
    joblib.dump(Ridge().fit(x, x @ -np.arange(10.0) + 5), other)
    assert _predict(model_file) != pytest.approx(_predict(other))
    first = Model.register(dws, model_file, "first")
    second = Model.register(dws, other, "second")
    service = _deploy(dws, "multi", [first, second], script="multi.py")
    answer = service.run(SEED_REQUEST)
    assert answer["first"] == pytest.approx(_predict(model_file))
    assert answer["second"] == pytest.approx(_predict(other))
    app = service.folder / "rev-1" / "app" / "azureml-models"
    assert (app / "first" / "1" / model_file.name).stat().st_nlink >= 2  # hard link, not a copy


def test_a_killed_service_shows_unhealthy_and_restarts(
    dws: Workspace, ridge: Model, model_file: Path
) -> None:
    import psutil

    service = _deploy(dws, "fragile", [ridge])
    status = json.loads((service.folder / "status.json").read_text())
    supervisor = psutil.Process(status["supervisor_pid"])
    tree = [supervisor, *supervisor.children(recursive=True)]
    for proc in tree:
        proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(tree, timeout=10)

    assert Webservice(dws, "fragile").state == "Unhealthy"
    assert [s.state for s in Webservice.list(dws)] == ["Unhealthy"]
    service.restart()
    assert service.state == "Healthy"
    assert service.run(SEED_REQUEST) == pytest.approx(_predict(model_file))


def test_update_under_load_drops_no_request(dws: Workspace, ridge: Model) -> None:
    service = _deploy(dws, "rolling", [ridge], script="echo.py")
    results: list[tuple[int, str | None]] = []  # (status, revision that answered)
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                try:
                    r = client.post(service.scoring_uri, content=b'"x"')
                    revision = r.json().get("revision") if r.status_code == 200 else None
                    results.append((r.status_code, revision))
                except httpx.HTTPError:
                    results.append((-1, None))

    def wait_for(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 60
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.01)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(results) >= 20, "the load never got going")
        config = LocalWebservice.deploy_configuration(
            workers=1, environment_variables={"ECHO_REVISION": "2"}
        )
        service.update(deployment_config=config)
        wait_for(lambda: sum(rev == "2" for _, rev in results) >= 20, "revision 2 never answered")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert service.run('"x"')["revision"] == "2"
    assert [code for code, _ in results if code != 200] == []
    assert {rev for _, rev in results} == {"1", "2"}  # the load spanned the switch


def test_config_files_and_the_cli(dws: Workspace, ridge: Model, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SEED_SCORE.read_text())
    (tmp_path / "inferenceconfig.json").write_text(
        json.dumps({"entryScript": "score.py", "sourceDirectory": "src"})
    )
    (tmp_path / "deploymentconfig.json").write_text(
        json.dumps(
            {"computeType": "local", "authEnabled": True, "workers": 1, "appInsightsEnabled": False}
        )
    )
    ws_flag = ["-w", str(dws.path)]
    out = run_cli(
        "model",
        "deploy",
        *ws_flag,
        "-n",
        "clisvc",
        "-m",
        "sklearn_regression:1",
        "--ic",
        str(tmp_path / "inferenceconfig.json"),
        "--dc",
        str(tmp_path / "deploymentconfig.json"),
        "-o",
        "json",
    )
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["state"] == "Healthy" and shown["auth_enabled"] is True
    listed = json.loads(run_cli("service", "list", *ws_flag, "-o", "json").stdout)
    assert [s["name"] for s in listed] == ["clisvc"]
    assert "Healthy" in run_cli("service", "show", *ws_flag, "clisvc").stdout
    assert "scoring server" in run_cli("service", "logs", *ws_flag, "clisvc").stdout
    assert run_cli("service", "delete", *ws_flag, "clisvc").returncode == 0
    twice = run_cli("service", "delete", *ws_flag, "clisvc")
    assert (
        twice.returncode == 2
        and "does not exist" in twice.stderr
        and "Traceback" not in twice.stderr
    )


def test_unknown_config_keys_are_named_in_a_warning(tmp_path: Path) -> None:
    from modelport.configs import ConfigWarning, DeploymentConfig

    path = tmp_path / "dc.json"
    path.write_text(json.dumps({"computeType": "local", "prot": 8890}))
    with pytest.warns(ConfigWarning, match="prot"):
        DeploymentConfig.from_file(path)


@pytest.mark.slow
def test_a_built_environment_is_cached_for_the_second_deploy(
    dws: Workspace, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six\n")
    env = Environment.from_pip_requirements("with-six", str(requirements))
    config = InferenceConfig(entry_script=str(SCRIPTS / "echo.py"), environment=env)
    started = time.monotonic()
    first = Model.deploy(
        dws, "built-a", [], config, LocalWebservice.deploy_configuration(workers=1)
    )
    first.wait_for_deployment()
    building = time.monotonic() - started
    assert "built at" in first.get_logs()
    started = time.monotonic()
    second = Model.deploy(
        dws, "built-b", [], config, LocalWebservice.deploy_configuration(workers=1)
    )
    second.wait_for_deployment()
    assert "reused at" in second.get_logs()
    assert time.monotonic() - started < building  # relative to this machine, now
    assert second.run('"hi"')["echo"] == '"hi"'
    python = json.loads((second.folder / "desired.json").read_text())["python"]
    assert python != os.path.realpath(os.sys.executable)


def test_an_aci_config_runs_locally_with_its_keys(
    dws: Workspace,
    ridge: Model,
    model_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from modelport.core.webservice import AciWebservice, TargetFallbackWarning

    # no container engine answers here (CI runs one for the container tests)
    monkeypatch.setenv("MODELPORT_CONTAINER_ENGINE", f"unix://{tmp_path}/no-engine.sock")

    config = AciWebservice.deploy_configuration(
        cpu_cores=1,
        memory_gb=1,
        auth_enabled=True,
        primary_key="first-key",
        enable_app_insights=True,
        description="ported from ACI",
    )
    with pytest.warns(TargetFallbackWarning, match="runs as a local service"):
        service = Model.deploy(dws, "from-aci", [ridge], _config(), config)
    service.wait_for_deployment()
    assert service.get_keys()[0] == "first-key"
    assert "first-key" not in json.dumps(dws.store.get_document("service", "from-aci"))
    assert service.run(SEED_REQUEST) == pytest.approx(_predict(model_file))
    assert set(dws.webservices) == {"from-aci"}


def test_the_older_inference_config_form(tmp_path: Path) -> None:
    env_file = tmp_path / "myenv.yml"
    env_file.write_text("name: myenv\ndependencies:\n  - python=3.11\n  - pip:\n    - six\n")
    config = InferenceConfig(
        runtime="python", entry_script=str(SCRIPTS / "echo.py"), conda_file=str(env_file)
    )
    env = config.resolve_environment()
    assert "six" in env.python.conda_dependencies.pip_packages


def test_a_failed_update_keeps_the_old_revision_serving(
    dws: Workspace, ridge: Model, model_file: Path
) -> None:
    service = _deploy(dws, "steady", [ridge])
    before = service.run(SEED_REQUEST)
    assert before == pytest.approx(_predict(model_file))  # the seed script's errors are 200s
    with pytest.raises(WebserviceException, match=r"previous revision keeps serving.*weights file"):
        service.update(inference_config=_config("broken_init.py"))
    assert service.state == "Healthy"
    assert service.run(SEED_REQUEST) == before
    assert Webservice(dws, "steady")._doc["revision"] == 1
    service.update(models=[ridge])  # the next update works (and reuses revision number 2)
    assert Webservice(dws, "steady")._doc["revision"] == 2
    assert service.run(SEED_REQUEST) == before
    service.restart()
    assert service.state == "Healthy"
