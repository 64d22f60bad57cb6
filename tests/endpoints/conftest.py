"""Fixtures for endpoint tests: a workspace whose endpoints (routers and version services)
are all deleted at teardown, a tiny model, and helpers to deploy and call endpoints."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from modelport.core import Model, Workspace
from modelport.core.endpoint import Endpoint
from modelport.core.model import InferenceConfig
from modelport.core.webservice import Webservice
from modelport.environments import Environment

SCRIPTS = Path(__file__).parent / "scripts"
HEADER = "x-modelport-version"


@pytest.fixture
def ews(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.create(tmp_path / "ws")
    yield workspace
    clean_up(workspace)


def clean_up(workspace: Workspace) -> None:
    """Delete every endpoint and service of the workspace (their processes stop), close it."""
    for endpoint in Endpoint.list(workspace):
        endpoint.delete()
    for service in Webservice.list(workspace):
        service.delete()
    workspace.close()


@pytest.fixture
def tiny(ews: Workspace, tmp_path: Path) -> Model:
    path = tmp_path / "tiny.txt"
    path.write_text("a tiny model")
    return Model.register(ews, path, "tiny")


def echo_config() -> InferenceConfig:
    return InferenceConfig(entry_script=str(SCRIPTS / "echo.py"), environment=Environment.current())


def deploy_endpoint(ws: Workspace, name: str, model: Model, **config: object) -> Endpoint:
    """An endpoint whose first version `a` answers {"revision": "1"}."""
    cfg = Endpoint.deploy_configuration(version_name="a", workers=1, **config)  # type: ignore[arg-type]
    endpoint = Model.deploy(ws, name, [model], echo_config(), cfg)
    assert isinstance(endpoint, Endpoint)
    endpoint.wait_for_deployment()
    return endpoint


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


class Load:
    """Client threads calling the endpoint until stopped; every answer is kept."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, threads: int = 3) -> None:
        self.url, self.headers = url, headers or {}
        self.results: list[tuple[int, str | None]] = []  # (status, version header)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop) for _ in range(threads)]

    def _loop(self) -> None:
        with httpx.Client(timeout=60, headers=self.headers) as client:
            while not self.stop.is_set():
                try:
                    r = client.post(self.url, content=b'"x"')
                    self.results.append((r.status_code, r.headers.get(HEADER)))
                except httpx.HTTPError:
                    self.results.append((-1, None))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        wait_for(lambda: len(self.results) >= 20, "the load never got going")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def more(self, count: int) -> int:
        """Wait for `count` more answers; the index they start at."""
        mark = len(self.results)
        wait_for(lambda: len(self.results) >= mark + count, "the load stalled")
        return mark

    def failures(self) -> list[int]:
        return [code for code, _ in self.results if code != 200]

    def answered_since(self, start: int) -> list[str | None]:
        return [version for _, version in self.results[start:]]
