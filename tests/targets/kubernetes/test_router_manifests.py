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
    assert table["sink"] == "/run/modelport-routing/shadow.jsonl"
    assert table["admin_token_file"] == "/run/modelport-router/router_admin_token"
    secret, deployment, service = router.render(
        "kep", "mp", "wk", "reg/img:1", "IfNotPresent", "kep-router-modelport-pull",
        "127.0.0.1", 4100, {"routes.json": json.dumps(table), "router_admin_token": "t"},
    )  # fmt: skip
    selector = dict(kv.split("=") for kv in router.selector("kep", "wk").split(","))
    for obj in (secret, deployment, service):
        assert obj["metadata"]["namespace"] == "mp"
        assert selector.items() <= obj["metadata"]["labels"].items()
        assert obj["metadata"]["labels"][router.LABEL_ENDPOINT] == "kep"
    assert secret["metadata"]["name"] == "kep-router-modelport-keys"
    assert json.loads(secret["stringData"]["routes.json"])["revision"] == 3
    spec = deployment["spec"]
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
