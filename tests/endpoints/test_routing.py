"""A real router process in front of real local services: the traffic split, explicit
version targeting, auth at the endpoint, per-version metrics and the v1 façade."""

from __future__ import annotations

import collections
import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from modelport.core import Model, Workspace
from modelport.core.endpoint import Endpoint
from modelport.core.webservice import AksEndpoint, Webservice
from modelport.deploy import endpoint as control
from modelport.errors import AuthNotEnabled, Conflict
from tests.endpoints.conftest import HEADER, deploy_endpoint, wait_for


def _refusals(endpoint: Endpoint) -> float:
    text = httpx.get(endpoint.scoring_uri.removesuffix("score") + "metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("modelport_router_requests_total") and 'code="4xx"' in line
    )


def test_split_targeting_auth_and_metrics(ews: Workspace, tiny: Model) -> None:
    endpoint = deploy_endpoint(ews, "split", tiny, traffic_percentile=20, auth_enabled=True)
    assert AksEndpoint is Endpoint and endpoint.state == "Healthy"
    b = endpoint.create_version(
        "b", traffic_percentile=30, environment_variables={"ECHO_REVISION": "2"}, description="B"
    )
    assert (b.name, b.service_name, b.traffic_percentile, b.description) == (
        "b",
        "split-b",
        30,
        "B",
    )
    versions = endpoint.versions
    assert set(versions) == {"a", "b"}
    # v1: the default takes what the others leave, whatever its own traffic_percentile says
    assert versions["a"].is_default and versions["a"].traffic_percentile == 70
    assert versions["b"].state == "Healthy" and not versions["b"].is_default

    primary, secondary = endpoint.get_keys()
    auth = {"Authorization": f"Bearer {primary}"}

    def calls(n: int) -> collections.Counter[str]:
        counts: collections.Counter[str] = collections.Counter()
        with httpx.Client(headers=auth, timeout=60) as client:
            for _ in range(n):
                r = client.post(endpoint.scoring_uri, content=b'"x"')
                assert r.status_code == 200
                version = r.headers[HEADER]
                assert r.json()["revision"] == {"a": "1", "b": "2"}[version]  # the header is true
                counts[version] += 1
        return counts

    with ThreadPoolExecutor(4) as pool:  # four clients: 2,000 requests in a quarter the time
        counts = sum(
            (f.result() for f in [pool.submit(calls, 500) for _ in range(4)]), collections.Counter()
        )
    assert counts.total() == 2000
    share_b = 100 * counts["b"] / 2000
    with httpx.Client(headers=auth, timeout=60) as client:
        assert abs(share_b - 30) <= 3, counts  # the router deals shares exactly per 1,000

        # explicit targeting, by header or query flag (the flag is not passed on)
        for _ in range(20):
            r = client.post(endpoint.scoring_uri, content=b'"x"', headers={HEADER: "b"})
            assert (r.status_code, r.headers[HEADER], r.json()["revision"]) == (200, "b", "2")
        r = client.get(endpoint.scoring_uri, params={"modelport-version": "a", "q": "1"})
        assert (r.status_code, r.headers[HEADER]) == (200, "a")
        assert "modelport-version" not in r.text and '\\"q\\": 1' in r.text
        r = client.post(endpoint.scoring_uri, content=b'"x"', headers={HEADER: "zzz"})
        assert r.status_code == 404 and "has no version 'zzz'" in r.json()["message"]

        # /swagger.json comes from the default version; / and /metrics are the router's
        assert client.get(endpoint.swagger_uri).headers[HEADER] == "a"
        assert client.get(endpoint.scoring_uri.removesuffix("score")).text == "Healthy"
        metrics = client.get(endpoint.scoring_uri.removesuffix("score") + "metrics").text
    assert (
        f'modelport_router_requests_total{{version="b",code="2xx"}} {counts["b"] + 20}' in metrics
    )
    assert 'modelport_router_request_duration_seconds_count{version="a"}' in metrics

    # auth: the endpoint's keys; the versions are closed to callers without their own key
    refused = _refusals(endpoint)
    assert httpx.post(endpoint.scoring_uri, content=b'"x"').status_code == 401
    assert _refusals(endpoint) == refused + 1  # counted, under the version it would have gone to
    bad = httpx.post(endpoint.scoring_uri, content=b'"x"', headers={"Authorization": "Bearer no"})
    assert bad.status_code == 401 and "not valid" in bad.json()["message"]
    second = {"Authorization": f"Bearer {secondary}"}
    assert httpx.post(endpoint.scoring_uri, content=b'"x"', headers=second).status_code == 200
    assert httpx.post(b.scoring_uri, content=b'"x"').status_code == 401
    endpoint.regen_key("Primary")
    assert httpx.post(endpoint.scoring_uri, content=b'"x"', headers=auth).status_code == 401
    with pytest.raises(AuthNotEnabled):
        endpoint.get_token()
    assert endpoint.run('"y"')["echo"] == '"y"'

    # a version is an ordinary service, deleted only through its endpoint
    assert sorted(s.name for s in Webservice.list(ews)) == ["split-a", "split-b"]
    with pytest.raises(Conflict, match="is a version of endpoint 'split'"):
        Webservice(ews, "split-b").delete()
    # after a reboot (here: the router stopped) restart brings the same routing back
    control.router_of(endpoint._doc).stop(endpoint.folder)
    assert endpoint.state == "Unhealthy"
    endpoint.restart()
    assert endpoint.state == "Healthy"
    r = httpx.post(endpoint.scoring_uri, content=b'"x"', headers=second)
    assert r.status_code == 200
    assert endpoint.versions["b"].traffic_percentile == 30
    endpoint.delete()
    assert Endpoint.list(ews) == [] and Webservice.list(ews) == []
    with pytest.raises(httpx.HTTPError):
        httpx.post(endpoint.scoring_uri, content=b'"x"', timeout=5)


def test_token_auth_at_the_endpoint(ews: Workspace, tiny: Model) -> None:
    endpoint = deploy_endpoint(ews, "tokened", tiny, token_auth_enabled=True)
    token, _ = endpoint.get_token()
    ok = httpx.post(
        endpoint.scoring_uri, content=b'"x"', headers={"Authorization": f"Bearer {token}"}
    )
    assert ok.status_code == 200 and ok.headers[HEADER] == "a"
    assert httpx.post(endpoint.scoring_uri, content=b'"x"').status_code == 401
    with pytest.raises(AuthNotEnabled):
        endpoint.get_keys()

    # the router is supervised: a killed server is started again on the same port
    status = json.loads((Path(ews.path) / "endpoints" / "tokened" / "status.json").read_text())
    os.kill(status["server"][0], signal.SIGKILL)
    headers = {"Authorization": f"Bearer {token}"}

    def answers() -> bool:
        try:
            return (
                httpx.post(endpoint.scoring_uri, content=b'"x"', headers=headers).status_code == 200
            )
        except httpx.HTTPError:
            return False

    wait_for(answers, "the router never came back")
    assert endpoint.state == "Healthy"
