"""Endpoints on Kubernetes beyond one host-network router pod, on the test cluster:

- a `cluster-ip` compute with two router replicas: each pod on its own IP, reached through
  the API server's pod proxy; every routing change reaches both pods; requests sent to the
  router's ClusterIP (kube-proxy picks a router pod per connection) are forwarded to the
  versions' ClusterIPs, with five weight changes, a rolling update of a version and its
  removal under load and no request lost; a pod that starts later serves the last table
  (from the Secret); counters summed over the pods;
- shadow pairs of a router pod, merged into `get_shadow_report()` (host-network compute,
  whose pods share this machine's folders), kept after the pod is replaced."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

import httpx
import pytest

from modelport.core import Environment, Workspace
from modelport.deploy.computes import ComputeRecord, attach_compute
from modelport.packaging.engine import workspace_key
from modelport.targets.kubernetes.cluster import connected
from tests.targets.kubernetes.conftest import Kube
from tests.targets.kubernetes.test_kubernetes_endpoint import HEADER, AuthLoad, deploy_echo

pytestmark = [
    pytest.mark.kubernetes,
    pytest.mark.containers,
    pytest.mark.slow,
    pytest.mark.timeout(1500),
]


def _kubectl(kube: Kube, *args: str) -> str:
    return subprocess.run(
        ["kubectl", "--kubeconfig", kube.kubeconfig, *args],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip


def _router_pods(kube: Kube, ws: Workspace, endpoint: str) -> list[dict]:  # type: ignore[type-arg]
    selector = f"modelport.io/service={endpoint}-router,modelport.io/workspace="
    selector += workspace_key(str(ws.path))
    pods = json.loads(_kubectl(kube, "get", "pods", "-n", "default", "-l", selector, "-o", "json"))
    return [p for p in pods["items"] if not p["metadata"].get("deletionTimestamp")]


def _pod_get(kube: Kube, pod: str, path: str) -> dict:  # type: ignore[type-arg]
    """A router pod's own answer, through the API server's pod proxy."""
    raw = _kubectl(kube, "get", "--raw", f"/api/v1/namespaces/default/pods/{pod}:5001/proxy{path}")
    return json.loads(raw)  # type: ignore[no-any-return]


def _wait(condition: Callable[[], bool], what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.5)


def test_two_router_pods_on_a_cluster_ip_compute(
    kws: Workspace, seed_env: Environment, kube: Kube
) -> None:
    extra = {k: v for k, v in kube.extra.items() if k != "node_address"}
    attach_compute(
        kws,
        ComputeRecord("kip", kubeconfig=kube.kubeconfig, extra={**extra, "exposure": "cluster-ip"}),
    )
    endpoint = deploy_echo(kws, seed_env, "kip", "kip", router_replicas=2, auth_enabled=True)
    try:
        endpoint.wait_for_deployment()
        assert endpoint.state == "Healthy"
        # clients reach it where they reach any service on a cluster-ip compute
        assert endpoint.scoring_uri == "http://kip-router.default.svc.cluster.local/score"
        pods = _router_pods(kube, kws, "kip")
        assert len(pods) == 2
        spec = pods[0]["spec"]
        assert not spec.get("hostNetwork")  # each pod on its own IP
        assert len({p["status"]["podIP"] for p in pods}) == 2
        names = [p["metadata"]["name"] for p in pods]
        for name in names:
            assert _pod_get(kube, name, "/-/routing")["revision"] == 1

        endpoint.create_version("v2", traffic_percentile=30)
        for name in names:  # create_version returned: both pods serve the new table
            routing = _pod_get(kube, name, "/-/routing")
            assert routing["revision"] == 2
            assert {v: w["weight"] for v, w in routing["versions"].items()} == {
                "v1": 70.0,
                "v2": 30.0,
            }
        # as a client in the cluster calls it: the router's ClusterIP → a router pod → the
        # version's ClusterIP → a version pod; five weight changes and a rolling update of
        # v2's pods under load lose nothing
        cluster = connected(ComputeRecord("kip", kubeconfig=kube.kubeconfig))
        router_ip = cluster.get("Service", "default", "kip-router")["spec"]["clusterIP"]
        url, (primary, _) = f"http://{router_ip}/score", endpoint.get_keys()
        auth = {"Authorization": f"Bearer {primary}"}
        with AuthLoad(url, primary) as load:
            for share in (50, 10, 90, 0, 30):
                endpoint.update_version("v2", traffic_percentile=share)
            endpoint.update_version("v2", environment_variables={"ECHO_REVISION": "2"})
            seen = len(load.answers)
            _wait(lambda: len(load.answers) >= seen + 20, "requests stopped after the changes")
        assert load.failures == [], load.failures[:5]
        assert {"v1", "v2"} <= set(load.answers)
        named = httpx.post(url, content=b'"x"', headers={**auth, HEADER: "v2"}, timeout=60)
        assert (named.headers[HEADER], named.json()["revision"]) == ("v2", "2")  # rolled out
        for _ in range(40):  # a new connection each: kube-proxy spreads them over both pods
            answer = httpx.post(url, content=b'"x"', headers=auth, timeout=60)
            assert answer.status_code == 200 and answer.headers[HEADER] in ("v1", "v2")
        forwarded = {
            name: sum(
                k for _, code, k in _pod_get(kube, name, "/-/counters")["metrics"]["requests"]
                if code == "2xx"
            )
            for name in names
        }  # fmt: skip
        assert all(forwarded.values()), forwarded  # both router pods forwarded requests
        assert sum(forwarded.values()) == len(load.answers) + 41
        for name in names:
            assert _pod_get(kube, name, "/-/routing")["revision"] == 8

        # counted by the pod that answered, summed by get_metrics: requests without the
        # endpoint's key (the pod proxy passes none), refused by the router itself
        sent = {names[0]: 6, names[1]: 9}
        for name, n in sent.items():
            for _ in range(n):
                code, body = cluster.pod_proxy("POST", "default", name, 5001, "/score", "x")
                assert code == 401 and b"authorization" in body.lower(), body
        for name, n in sent.items():
            counted = _pod_get(kube, name, "/-/counters")["metrics"]["requests"]
            assert sum(k for _, code, k in counted if code == "4xx") == n
        summed = 0
        for line in endpoint.get_metrics().splitlines():
            if line.startswith("modelport_router_requests_total{") and 'code="4xx"' in line:
                summed += int(line.rsplit(" ", 1)[1])
        assert summed == 15

        # a pod that starts later reads the last table from the Secret (nobody pushes to it)
        _kubectl(kube, "delete", "pod", "-n", "default", names[0], "--wait=false")
        _wait(
            lambda: (
                len(_router_pods(kube, kws, "kip")) == 2
                and names[0] not in {p["metadata"]["name"] for p in _router_pods(kube, kws, "kip")}
                and all(
                    c.get("ready")
                    for p in _router_pods(kube, kws, "kip")
                    for c in p["status"].get("containerStatuses") or [{}]
                )
            ),
            "the deleted router pod was not replaced",
        )
        fresh = [p["metadata"]["name"] for p in _router_pods(kube, kws, "kip")]
        for name in fresh:
            assert _pod_get(kube, name, "/-/routing")["revision"] == 8

        with AuthLoad(url, primary) as load:  # removed under load: drained, then deleted
            endpoint.update_version("v2", traffic_percentile=0)
            endpoint.delete_version("v2")  # drained over both pods' in-flight counts
            seen = len(load.answers)
            _wait(lambda: len(load.answers) >= seen + 20, "requests stopped after the removal")
        assert load.failures == [], load.failures[:5]
        assert set(load.answers[seen:]) == {"v1"}
        for name in fresh:
            routing = _pod_get(kube, name, "/-/routing")
            assert routing["revision"] == 10 and set(routing["versions"]) == {"v1"}
    finally:
        endpoint.delete()
    assert _router_pods(kube, kws, "kip") == []


def test_shadow_report_from_the_router_pod(
    kws: Workspace, seed_env: Environment, kube: Kube
) -> None:
    endpoint = deploy_echo(
        kws, seed_env, "ksh", "kube", environment_variables={"ECHO_REVISION": "1"}
    )
    try:
        endpoint.wait_for_deployment()
        endpoint.create_version(
            "s", shadow_percentile=100, environment_variables={"ECHO_REVISION": "2"}
        )
        with httpx.Client(timeout=60) as client:
            for _ in range(20):
                r = client.post(endpoint.scoring_uri, content=b'"x"')
                assert (r.status_code, r.headers[HEADER], r.json()["revision"]) == (200, "v1", "1")
        _wait(
            lambda: endpoint.get_shadow_report().get("s", {}).get("pairs") == 20,
            "the router pod's 20 shadow pairs never all showed in the report",
        )
        report = endpoint.get_shadow_report()["s"]
        assert report["agreement"] == 0.0  # revision 2 answers differ from revision 1's
        assert (report["primary_error_rate"], report["shadow_error_rate"]) == (0.0, 0.0)
        assert report["primary_ms"]["p50"] > 0 and report["shadow_ms"]["p99"] > 0
        assert report["dropped"] == 0
        # the pods share this machine's folders: the pairs are kept in the endpoint's, and
        # outlive the router pod (its replacement adds to them)
        (old,) = [p["metadata"]["name"] for p in _router_pods(kube, kws, "ksh")]
        _kubectl(kube, "delete", "pod", "-n", "default", old, "--wait=true", "--timeout=180s")
        _wait(
            lambda: any(
                c.get("ready")
                for p in _router_pods(kube, kws, "ksh")
                for c in p["status"].get("containerStatuses") or [{}]
            ),
            "the deleted router pod was not replaced",
        )
        assert endpoint.get_shadow_report()["s"]["pairs"] == 20
        with httpx.Client(timeout=60) as client:
            for _ in range(5):
                assert client.post(endpoint.scoring_uri, content=b'"x"').status_code == 200
        _wait(
            lambda: endpoint.get_shadow_report().get("s", {}).get("pairs") == 25,
            "the new router pod's shadow pairs did not add to the old one's",
        )
    finally:
        endpoint.delete()
