"""The rendered objects (no cluster): v1's defaults, labels, exposure modes, API versions."""

from __future__ import annotations

from modelport.configs import DeploymentConfig
from modelport.targets.kubernetes.manifests import ApiVersions, Manifest, render


def _objects(exposure: str = "load-balancer", **fields: object) -> dict[str, dict]:  # type: ignore[type-arg]
    dc = DeploymentConfig(compute_type="kubernetes", **fields)  # type: ignore[arg-type]
    m = Manifest("svc", "ns", "abc123", 4, "img:1", dc, exposure=exposure, port=18080)
    return {o["kind"]: o for o in render(m)}


def test_v1_defaults_apply_when_fields_are_unset() -> None:
    objects = _objects()
    assert set(objects) == {
        "Secret",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    }
    deployment = objects["Deployment"]
    assert "replicas" not in deployment["spec"]  # the autoscaler owns it
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "512Mi"}}
    live = container["livenessProbe"]
    assert (live["initialDelaySeconds"], live["periodSeconds"], live["timeoutSeconds"]) == (
        310,
        10,
        2,
    )
    assert (live["successThreshold"], live["failureThreshold"]) == (1, 3)
    assert container["readinessProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert "60000" in container["command"]  # v1's Kubernetes scoring timeout
    hpa = objects["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 10)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    for obj in objects.values():
        assert obj["metadata"]["labels"]["modelport.io/service"] == "svc"
        assert obj["metadata"]["labels"]["modelport.io/workspace"] == "abc123"


def test_num_replicas_turns_autoscaling_off_and_limits_are_set() -> None:
    objects = _objects(
        num_replicas=3, cpu_cores=0.5, cpu_cores_limit=2, memory_gb_limit=1.5, success_threshold=2
    )
    assert "HorizontalPodAutoscaler" not in objects
    spec = objects["Deployment"]["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    container = spec["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"cpu": "2000m", "memory": "1536Mi"}
    assert container["readinessProbe"]["successThreshold"] == 2
    assert container["command"][container["command"].index("--workers") + 1] == "2"


def test_host_network_replicas_share_the_port_and_probe_their_own_health_file() -> None:
    objects = _objects("host-network", num_replicas=2)
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["hostNetwork"] is True
    assert "ports" not in container  # a hostPort would keep a second replica off the node
    assert "--reuse-port" in container["command"]
    assert container["command"][container["command"].index("--port") + 1] == "18080"
    assert container["readinessProbe"]["exec"]["command"][:2] == ["test", "-e"]
    assert objects["Service"]["spec"]["type"] == "ClusterIP"
    assert "lifecycle" not in container  # it leaves by its socket: no wait for its Service
    assert pod["terminationGracePeriodSeconds"] == 45


def test_a_pod_network_replica_keeps_serving_until_its_service_lets_it_go() -> None:
    """Told to stop, it serves 5 s more (preStop, with the image's Python) while its Service
    stops sending it connections, then drains on SIGTERM within the grace period."""
    for exposure in ("cluster-ip", "load-balancer"):
        pod = _objects(exposure)["Deployment"]["spec"]["template"]["spec"]
        hook = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
        assert hook == ["/opt/venv/bin/python", "-c", "import time; time.sleep(5)"]
        assert pod["terminationGracePeriodSeconds"] == 50


def test_api_versions_follow_discovery() -> None:
    dc = DeploymentConfig(compute_type="kubernetes")
    m = Manifest(
        "svc",
        "ns",
        "k",
        1,
        "img",
        dc,
        versions=ApiVersions("autoscaling/v2beta2", "policy/v1beta1"),
    )
    kinds = {o["kind"]: o["apiVersion"] for o in render(m)}
    assert kinds["HorizontalPodAutoscaler"] == "autoscaling/v2beta2"
    assert kinds["PodDisruptionBudget"] == "policy/v1beta1"
