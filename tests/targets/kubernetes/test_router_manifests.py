"""The router's cluster objects (offline): what the pod runs, where it listens, what it mounts,
and that every object carries the labels its delete selects by."""

from __future__ import annotations

import json

from modelport.routing.table import RoutingTable
from modelport.targets.kubernetes import router
from modelport.targets.kubernetes.manifests import LABEL_PORT


def _table() -> RoutingTable:
    return RoutingTable.from_dict(
        {
            "revision": 3,
            "endpoint": "kep",
            "default": "v1",
            "versions": [{"name": "v1", "url": "http://127.0.0.1:4001", "weight": 100.0}],
            "keys_file": "/home/me/ws/endpoints/kep/keys.json",
            "token_secret_file": None,
            "sink": "/home/me/ws/endpoints/kep/shadow.jsonl",
        }
    )


def test_router_objects() -> None:
    table = router.pod_table(_table())
    # the pod's own paths, never the control plane's files
    assert table["keys_file"] == "/run/modelport-routing/keys.json"  # PUT /-/table replaces it
    assert table["token_secret_file"] is None
    assert table["sink"] == "/run/modelport-routing/shadow/shadow.jsonl"
    assert table["admin_token_file"] == "/run/modelport-router/router_admin_token"
    secret, deployment, service = router.render(
        "kep", "mp", "wk", "reg/img:1", "IfNotPresent", "kep-router-modelport-pull",
        "host-network", "127.0.0.1", 4100,
        {"routes.json": json.dumps(table), "router_admin_token": "t"}, 3,
    )  # fmt: skip
    selector = dict(kv.split("=") for kv in router.selector("kep", "wk").split(","))
    for obj in (secret, deployment, service):
        assert obj["metadata"]["namespace"] == "mp"
        assert selector.items() <= obj["metadata"]["labels"].items()
        assert obj["metadata"]["labels"][router.LABEL_ENDPOINT] == "kep"
    assert secret["metadata"]["name"] == "kep-router-modelport-keys"
    assert json.loads(secret["stringData"]["routes.json"])["revision"] == 3
    spec = deployment["spec"]
    # one pod holds the node port at a time, whatever the replicas asked for
    assert (spec["replicas"], spec["strategy"]) == (1, {"type": "Recreate"})
    assert deployment["metadata"]["labels"][LABEL_PORT] == "4100"  # no service takes its port
    pod = spec["template"]["spec"]
    assert selector.items() <= spec["template"]["metadata"]["labels"].items()
    assert pod["hostNetwork"] and pod["imagePullSecrets"] == [{"name": "kep-router-modelport-pull"}]
    (container,) = pod["containers"]
    command = container["command"][-1]
    assert command.startswith("cp -L /run/modelport-router/* /run/modelport-routing/ && ")
    assert command.endswith("-m modelport.routing /run/modelport-routing 127.0.0.1 4100 1")
    assert container["resources"]["requests"]["cpu"] == "100m"
    assert "http://127.0.0.1:4100/" in container["readinessProbe"]["exec"]["command"][-1]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/run/modelport-router"]]["secret"]["secretName"] == (
        "kep-router-modelport-keys"
    )
    assert "emptyDir" in volumes[mounts["/run/modelport-routing"]]
    assert service["spec"]["ports"][0]["targetPort"] == 4100


def test_router_objects_on_the_pod_network() -> None:
    """cluster-ip / load-balancer: pods on their own IPs, a Service of the compute's type,
    the replicas asked for, rolled with none unavailable, probed over HTTP."""
    for exposure, kind in (("cluster-ip", "ClusterIP"), ("load-balancer", "LoadBalancer")):
        _, deployment, service = router.render(
            "kep", "mp", "wk", "reg/img:1", "IfNotPresent", None, exposure, "", 0,
            {"routes.json": "{}", "router_admin_token": "t"}, 2,
        )  # fmt: skip
        spec = deployment["spec"]
        assert spec["replicas"] == 2
        assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
        assert LABEL_PORT not in deployment["metadata"]["labels"]  # no node port taken
        pod = spec["template"]["spec"]
        assert "hostNetwork" not in pod and "imagePullSecrets" not in pod
        (container,) = pod["containers"]
        assert container["command"][-1].endswith(
            "-m modelport.routing /run/modelport-routing 0.0.0.0 5001 1"
        )
        assert container["ports"] == [{"name": "http", "containerPort": 5001}]
        assert container["readinessProbe"]["httpGet"] == {"path": "/", "port": "http"}
        assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "/opt/venv/bin/python"
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 85
        assert service["spec"]["type"] == kind
        assert service["spec"]["ports"][0] == {
            "name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"
        }  # fmt: skip


def test_router_url_of_a_version() -> None:
    """On host-network a router pod calls versions at the node address, like any client
    (on the pod network at their Services' ClusterIPs: tests/targets/kubernetes/
    test_kubernetes_endpoint_pods.py, on the real cluster)."""
    from pathlib import Path

    from modelport.deploy.target import ServiceRecord
    from modelport.targets.kubernetes.target import KubernetesTarget

    target = KubernetesTarget()
    host = ServiceRecord(
        workspace=None, name="kep-v1", home=Path("/nowhere"), deployment_config=None,
        data={"exposure": "host-network", "node_address": "127.0.0.1", "port": 4321},
    )  # fmt: skip
    assert target.router_url(host) == "http://127.0.0.1:4321"


def test_router_autoscaler_only_when_asked() -> None:
    """The router is autoscaled only with router_max_replicas (v1's autoscale_* size the
    versions), from router_replicas up, at v1's 70% CPU; the autoscaler then owns the count."""
    assert router.autoscale(2, None) is None
    scaling = router.autoscale(2, 4)
    assert scaling == {
        "autoscale_enabled": True, "autoscale_min_replicas": 2, "autoscale_max_replicas": 4
    }  # fmt: skip
    objects = router.render(
        "kep", "mp", "wk", "reg/img:1", "IfNotPresent", None, "cluster-ip", "", 0,
        {"routes.json": "{}", "router_admin_token": "t"}, 1, scaling, "autoscaling/v2beta2",
    )  # fmt: skip
    deployment, hpa = objects[1], objects[3]
    assert "replicas" not in deployment["spec"]
    assert hpa["apiVersion"] == "autoscaling/v2beta2"
    assert hpa["metadata"]["name"] == "kep-router"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "kep-router"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 4)
    utilization = hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"]
    assert utilization == 70  # v1's default
    fixed = router.render(
        "kep", "mp", "wk", "reg/img:1", "IfNotPresent", None, "cluster-ip", "", 0,
        {"routes.json": "{}", "router_admin_token": "t"}, 3, None, "autoscaling/v2",
    )  # fmt: skip
    assert len(fixed) == 3 and fixed[1]["spec"]["replicas"] == 3


def test_router_pods_keep_shadow_pairs_on_shared_storage() -> None:
    """With a shared folder each pod links its shadow folder to a subfolder named after it
    there (hostPath at the same path), running as this machine's user; without, no hostPath."""
    table = {"routes.json": "{}", "router_admin_token": "t"}
    objects = router.render(
        "kep", "mp", "wk", "reg/img:1", "IfNotPresent", None, "host-network", "127.0.0.1", 4100,
        table, 1, None, "autoscaling/v2", "/home/me/ws/endpoints/kep/shadow/pods", (1000, 1000),
    )  # fmt: skip
    pod = objects[1]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    command = container["command"][2]
    assert command.startswith(
        'mkdir -p "/home/me/ws/endpoints/kep/shadow/pods/$POD_NAME" && ln -sfn '
        '"/home/me/ws/endpoints/kep/shadow/pods/$POD_NAME" /run/modelport-routing/shadow && '
    )
    assert container["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert {"name": "shadow", "mountPath": "/home/me/ws/endpoints/kep/shadow/pods"} in container[
        "volumeMounts"
    ]
    assert {
        "name": "shadow",
        "hostPath": {"path": "/home/me/ws/endpoints/kep/shadow/pods", "type": "Directory"},
    } in pod["volumes"]
    assert pod["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000}
    plain = router.render(
        "kep", "mp", "wk", "reg/img:1", "IfNotPresent", None, "cluster-ip", "", 0, table,
    )[1]["spec"]["template"]["spec"]  # fmt: skip
    assert all("hostPath" not in v for v in plain["volumes"]) and "securityContext" not in plain
    assert plain["containers"][0]["command"][2].startswith("cp -L ")
