"""Container services on a real Podman engine: deploy, state, logs, keys, limits, update under
load, failures, delete (nothing left on the engine), and the local fallback without an engine."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport._net import port_problem
from modelport.core import InferenceConfig, Model, Workspace
from modelport.core.webservice import ContainerWebservice, TargetFallbackWarning, Webservice
from modelport.errors import WebserviceException
from modelport.packaging.containers import ENVIRONMENT_REPOSITORY
from tests.targets.container.conftest import Engine

pytestmark = [pytest.mark.containers, pytest.mark.slow]
REQUEST = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}


def _script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(body)
    return path


def _labelled(engine: Engine, service: str, steps: bool = False) -> tuple[list[str], list[Any]]:
    """The service's containers and images (with `steps`, the images of build steps too)."""
    label = f"org.modelport.service={service}"
    containers = engine.client.containers.list(all=True, filters={"label": label})
    images = engine.client.images.list(all=steps, filters={"label": label})
    return [c.name for c in containers], [i.tags for i in images]


def test_a_container_service_deploys_serves_with_keys_and_limits_and_deletes_cleanly(
    cws: Workspace, seed_model: Model, seed_config: InferenceConfig, engine: Engine
) -> None:
    volumes = {v.name for v in engine.client.volumes.list()}
    config = ContainerWebservice.deploy_configuration(cpu_cores=1, memory_gb=1, auth_enabled=True)
    service = Model.deploy(cws, "box", [seed_model], seed_config, config)
    service.wait_for_deployment()
    assert isinstance(service, ContainerWebservice)
    assert (service.state, service.compute_type) == ("Healthy", "container")
    assert service.scoring_uri.startswith("http://127.0.0.1:")
    assert len(service.run(REQUEST)) == 1

    primary, secondary = service.get_keys()
    assert httpx.post(service.scoring_uri, json=REQUEST).status_code == 401
    ok = httpx.post(
        service.scoring_uri, json=REQUEST, headers={"Authorization": f"Bearer {secondary}"}
    )
    assert ok.status_code == 200
    service.regen_key("Secondary")  # the mounted key file changes; no restart
    assert (
        httpx.post(
            service.scoring_uri, json=REQUEST, headers={"Authorization": f"Bearer {secondary}"}
        ).status_code
        == 401
    )
    assert service.get_keys()[0] == primary

    [name], [tags] = _labelled(engine, "box")
    inspected = engine.client.api.inspect_container(name)
    host = inspected["HostConfig"]
    # bind mounts of the service's folders only: no volume the engine would have to keep
    assert {m["Type"] for m in inspected["Mounts"]} == {"bind"}
    assert (host["NanoCpus"], host["Memory"]) == (1_000_000_000, 1024 * 2**20)
    assert "all 1 workers ready" in service.get_logs()
    assert tags  # the service's image
    swagger = httpx.get(service.swagger_uri).json()
    assert swagger["info"]["title"] == "box"

    port = service.port
    assert port is not None
    home = cws.path / "services" / "box"
    assert (home / "run" / "listen.sock").exists()
    service.delete()
    assert _labelled(engine, "box", steps=True) == ([], [])  # containers, tags, build steps
    assert {v.name for v in engine.client.volumes.list()} <= volumes  # no volume left
    assert port_problem("127.0.0.1", port) is None  # the port is free again
    assert not home.exists()  # the port owner's socket and the mounted folders with it
    # the environment image stays: a cache for the next build, reclaimed by `workspace gc`
    assert engine.client.images.list(name=ENVIRONMENT_REPOSITORY)
    with pytest.raises(WebserviceException):
        Webservice(cws, "box")


def test_token_auth_through_the_target(
    cws: Workspace, seed_model: Model, seed_config: InferenceConfig
) -> None:
    config = ContainerWebservice.deploy_configuration(token_auth_enabled=True, cpu_cores=1)
    service = Model.deploy(cws, "tok", [seed_model], seed_config, config)
    service.wait_for_deployment()
    token, refresh_after = service.get_token()
    assert refresh_after.timestamp() > time.time()
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.post(service.scoring_uri, json=REQUEST, headers=headers).status_code == 200
    assert httpx.post(service.scoring_uri, json=REQUEST).status_code == 401


class Load:
    """Requests sent without pause from two threads (one keep-alive client, one new
    connection per request) until stopped; every failure is kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.answers: list[Any] = []
        self.threads = [threading.Thread(target=self._send, args=(keep,)) for keep in (True, False)]

    def _send(self, keep_alive: bool) -> None:
        client = httpx.Client(timeout=60) if keep_alive else None
        while not self.stop.is_set():
            try:
                if client is not None:
                    response = client.post(self.url, content=b"ping")
                else:
                    response = httpx.post(self.url, content=b"ping", timeout=60)
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code}: {response.text}")
                else:
                    self.answers.append(response.json())
            except httpx.HTTPError as exc:
                self.failures.append(repr(exc))
        if client is not None:
            client.close()

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)


def test_an_update_under_load_drops_no_request(
    cws: Workspace, seed_config: InferenceConfig, engine: Engine, tmp_path: Path
) -> None:
    env = seed_config.environment
    first = _script(
        tmp_path / "v1", "score.py", "def init():\n    pass\n\ndef run(raw):\n    return 'one'\n"
    )
    second = _script(
        tmp_path / "v2", "score.py", "def init():\n    pass\n\ndef run(raw):\n    return 'two'\n"
    )
    config = ContainerWebservice.deploy_configuration(cpu_cores=1, memory_gb=1)
    service = Model.deploy(cws, "rolling", [], InferenceConfig(str(first), environment=env), config)
    service.wait_for_deployment()
    with Load(service.scoring_uri) as load:
        deadline = time.monotonic() + 60
        while len(load.answers) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        service.update(inference_config=InferenceConfig(str(second), environment=env))
        count = len(load.answers)
        while len(load.answers) < count + 20 and time.monotonic() < deadline + 60:
            time.sleep(0.05)
    assert load.failures == []
    assert load.answers[0] == "one" and load.answers[-1] == "two"
    assert service.state == "Healthy"
    names, images = _labelled(engine, "rolling")
    assert len(names) == 1 and "-r2-" in names[0]  # the old container is gone
    assert len(images) == 1


def test_a_container_that_exits_at_start_is_failed_with_the_log_tail(
    cws: Workspace, seed_config: InferenceConfig, tmp_path: Path
) -> None:
    script = _script(
        tmp_path / "bad",
        "score.py",
        "def init():\n    raise RuntimeError('no model here')\n\ndef run(raw):\n    return raw\n",
    )
    config = ContainerWebservice.deploy_configuration(cpu_cores=1)
    service = Model.deploy(
        cws, "broken", [], InferenceConfig(str(script), environment=seed_config.environment), config
    )
    with pytest.raises(WebserviceException, match="Failed") as caught:
        service.wait_for_deployment()
    assert "no model here" in str(caught.value)
    assert service.state == "Failed"
    assert "the container exited with code" in (service.error or "")
    assert "Last container log lines" in (service.error or "")


def test_a_memory_limit_too_low_is_failed_out_of_memory(
    cws: Workspace, seed_config: InferenceConfig, tmp_path: Path
) -> None:
    script = _script(
        tmp_path / "big",
        "score.py",
        "def init():\n    global blob\n    blob = bytearray(400 * 2**20)\n    blob[::4096] = b'x' * len(blob[::4096])\n\ndef run(raw):\n    return raw\n",
    )
    config = ContainerWebservice.deploy_configuration(cpu_cores=1, memory_gb=0.2)
    service = Model.deploy(
        cws, "tiny", [], InferenceConfig(str(script), environment=seed_config.environment), config
    )
    with pytest.raises(WebserviceException, match="out of memory"):
        service.wait_for_deployment()
    assert service.state == "Failed"
    assert "memory limit of 204 MB" in (service.error or "")


def test_an_update_that_fails_keeps_the_old_revision_serving(
    cws: Workspace, seed_config: InferenceConfig, engine: Engine, tmp_path: Path
) -> None:
    env = seed_config.environment
    good = _script(
        tmp_path / "good", "score.py", "def init():\n    pass\n\ndef run(raw):\n    return 'good'\n"
    )
    bad = _script(
        tmp_path / "bad",
        "score.py",
        "def init():\n    raise ValueError('nope')\n\ndef run(raw):\n    return raw\n",
    )
    config = ContainerWebservice.deploy_configuration(cpu_cores=1)
    service = Model.deploy(cws, "steady", [], InferenceConfig(str(good), environment=env), config)
    service.wait_for_deployment()
    with pytest.raises(WebserviceException, match="keeps serving"):
        service.update(inference_config=InferenceConfig(str(bad), environment=env))
    assert service.run("x") == "good"
    assert service.state == "Healthy"
    names, _ = _labelled(engine, "steady")
    assert len(names) == 1 and "-r1-" in names[0]


def test_without_an_engine_a_container_config_runs_locally_with_a_warning(
    service_ws: Workspace, model_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.conftest import SEED_SCORE

    monkeypatch.setenv("MODELPORT_CONTAINER_ENGINE", f"unix://{tmp_path}/no-engine.sock")
    model = Model.register(service_ws, model_file, "sklearn_regression_model")
    config = ContainerWebservice.deploy_configuration(cpu_cores=1)
    with pytest.warns(TargetFallbackWarning, match="no container engine answers") as caught:
        service = Model.deploy(
            service_ws, "fallback", [model], InferenceConfig(str(SEED_SCORE)), config
        )
    assert "Install Docker" in str(caught[0].message)
    service.wait_for_deployment()
    assert service.compute_type == "local"
    assert len(service.run(REQUEST)) == 1


def test_a_container_service_with_ssl_enabled_serves_https(
    cws: Workspace, seed_model: Model, seed_config: InferenceConfig, tmp_path: Path
) -> None:
    from tests.tls import make_certificate, verifying_context

    cert, key = make_certificate(tmp_path / "tls")
    config = ContainerWebservice.deploy_configuration(
        cpu_cores=1, ssl_enabled=True, ssl_cert_pem_file=str(cert), ssl_key_pem_file=str(key)
    )
    service = Model.deploy(cws, "secure", [seed_model], seed_config, config)
    service.wait_for_deployment()
    assert service.scoring_uri.startswith("https://127.0.0.1:")
    response = httpx.post(
        service.scoring_uri, json=REQUEST, verify=verifying_context(cert), timeout=30
    )
    assert response.status_code == 200 and len(response.json()) == 1
    cert.unlink()  # run() verifies with the copy the service serves, not the user's file
    assert len(service.run(REQUEST)) == 1
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.post(service.scoring_uri, json=REQUEST, timeout=30)  # the system CAs alone
