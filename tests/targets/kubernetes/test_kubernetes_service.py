"""Kubernetes services on a real cluster (scripts/start-kube, or MODELPORT_TEST_KUBECONFIG):
deploy, auth, replicas, autoscaling objects, failures with reasons, rolling updates under load,
logs, delete (nothing left with the service's labels)."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from modelport.configs import DeploymentConfig
from modelport.core import Environment, InferenceConfig, Model, Workspace
from modelport.core.compute import ComputeTarget, KubernetesCompute
from modelport.core.webservice import AksWebservice, Webservice
from modelport.deploy.computes import ComputeRecord, attach_compute
from modelport.errors import Conflict, WebserviceException
from modelport.targets.kubernetes.cluster import Cluster
from modelport.targets.kubernetes.target import KubernetesTarget
from tests.targets.container.test_container_service import Load
from tests.targets.kubernetes.conftest import Kube

# deploys build an image: the first one on a machine (or after a change to modelport, which is
# in the image) installs the environment layer, minutes on a busy machine
pytestmark = [
    pytest.mark.kubernetes,
    pytest.mark.containers,
    pytest.mark.slow,
    pytest.mark.timeout(900),
]


def _app(folder: Path, answer: str, init: str = "pass") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "score.py"
    script.write_text(f"def init():\n    {init}\n\ndef run(raw):\n    return {answer!r}\n")
    return script


def _config(**fields: Any) -> DeploymentConfig:
    fields.setdefault("num_replicas", 1)
    fields.setdefault("cpu_cores", 0.1)
    fields.setdefault("memory_gb", 0.25)
    return DeploymentConfig(compute_type="kubernetes", compute_target="kube", **fields)


def _kubectl(kube: Kube, *args: str) -> Any:
    result = subprocess.run(
        ["kubectl", "--kubeconfig", kube.kubeconfig, *args, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_deploy_is_healthy_and_scores_with_key_auth(
    kws: Workspace, seed_env: Environment, tmp_path: Path, kube: Kube
) -> None:
    script = _app(tmp_path / "app", "one")
    config = _config(auth_enabled=True, num_replicas=2)
    service = Model.deploy(
        kws, "kone", [], InferenceConfig(entry_script=str(script), environment=seed_env), config
    )
    service.wait_for_deployment(timeout_sec=600)
    assert service.state == "Healthy"
    primary, secondary = service.get_keys()
    assert httpx.post(service.scoring_uri, content=b"x").status_code == 401
    for key in (primary, secondary):
        answer = httpx.post(
            service.scoring_uri, content=b"x", headers={"Authorization": f"Bearer {key}"}
        )
        assert (answer.status_code, answer.json()) == (200, "one")
    pods = _kubectl(kube, "get", "pods", "-n", "default", "-l", "modelport.io/service=kone")[
        "items"
    ]
    assert len(pods) == 2
    assert all(p["spec"]["hostNetwork"] for p in pods)
    deployment = _kubectl(kube, "get", "deployment", "kone", "-n", "default")
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    resources = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "100m", "memory": "256Mi"}
    assert "all 1 workers ready" in service.get_logs()
    with pytest.raises(Conflict, match=r"'kube' runs service\(s\) kone\."):
        ComputeTarget(kws, "kube").detach()

    service.delete()
    left = _kubectl(kube, "get", "all,secrets,pdb", "-A", "-l", "modelport.io/service=kone")
    assert left["items"] == []


@pytest.mark.timeout(900)
def test_rolling_updates_drop_nothing_and_a_failed_one_keeps_the_previous_revision(
    kws: Workspace, seed_env: Environment, tmp_path: Path, kube: Kube
) -> None:
    first = InferenceConfig(entry_script=str(_app(tmp_path / "v1", "one")), environment=seed_env)
    service = Model.deploy(kws, "kroll", [], first, _config(num_replicas=2))
    service.wait_for_deployment(timeout_sec=600)
    second = InferenceConfig(entry_script=str(_app(tmp_path / "v2", "two")), environment=seed_env)
    with Load(service.scoring_uri) as load:
        service.update(inference_config=second)
        while not load.answers or load.answers[-1] != "two":  # the last replicas drain
            assert not load.failures
    assert load.failures == []
    assert set(load.answers) <= {"one", "two"} and load.answers[-1] == "two"
    assert service.state == "Healthy"

    # The cluster cannot pull the next image (its nodes see the registry at a dead address):
    # the update fails with the reason and revision 2 keeps serving.
    record = ComputeRecord(
        "kube", kubeconfig=kube.kubeconfig, extra={**kube.extra, "pull_registry": "127.0.0.1:1"}
    )
    attach_compute(kws, record, overwrite=True)
    third = InferenceConfig(entry_script=str(_app(tmp_path / "v3", "three")), environment=seed_env)
    with pytest.raises(WebserviceException, match=r"ErrImagePull|ImagePullBackOff") as failed:
        service.update(inference_config=third)
    assert "revision 2 keeps serving" in str(failed.value)
    assert httpx.post(service.scoring_uri, content=b"x").json() == "two"
    service = Webservice(kws, "kroll")
    assert service.state == "Healthy"


def test_token_auth_and_the_autoscaling_objects(
    kws: Workspace, seed_env: Environment, tmp_path: Path, kube: Kube
) -> None:
    # the v1 way: attach the cluster, an AKS config, Model.deploy(..., deployment_target=)
    aks = ComputeTarget.attach(
        kws,
        "aks",
        KubernetesCompute.attach_configuration(kube.kubeconfig, **kube.extra),  # type: ignore[arg-type]
    )
    assert aks.get_status() == "Succeeded"
    ic = InferenceConfig(entry_script=str(_app(tmp_path / "app", "tok")), environment=seed_env)
    config = AksWebservice.deploy_configuration(
        autoscale_enabled=True,
        autoscale_max_replicas=3,
        cpu_cores=0.1,
        memory_gb=0.25,
        auth_enabled=False,
        token_auth_enabled=True,
    )
    service = Model.deploy(kws, "ktok", [], ic, config, deployment_target=aks)
    service.wait_for_deployment(timeout_sec=600)
    assert service.compute_type == "kubernetes"
    token, refresh_after = service.get_token()
    assert refresh_after.timestamp() > time.time()
    assert httpx.post(service.scoring_uri, content=b"x").status_code == 401
    ok = httpx.post(service.scoring_uri, content=b"x", headers={"Authorization": f"Bearer {token}"})
    assert (ok.status_code, ok.json()) == (200, "tok")
    cluster = Cluster.connect(ComputeRecord("kube", kubeconfig=kube.kubeconfig))
    hpa = cluster.get("HorizontalPodAutoscaler", "default", "ktok")  # the served version
    assert hpa is not None
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    pdb = _kubectl(kube, "get", "pdb", "ktok", "-n", "default")
    assert pdb["spec"]["maxUnavailable"] == 1
    probe = _kubectl(kube, "get", "deployment", "ktok", "-n", "default")["spec"]["template"][
        "spec"
    ]["containers"][0]["livenessProbe"]
    assert (probe["initialDelaySeconds"], probe["periodSeconds"], probe["failureThreshold"]) == (
        310,
        10,
        3,
    )


def test_resources_no_node_has_are_unschedulable_with_the_schedulers_reason(
    kws: Workspace, seed_env: Environment, tmp_path: Path
) -> None:
    ic = InferenceConfig(entry_script=str(_app(tmp_path / "app", "big")), environment=seed_env)
    service = Model.deploy(kws, "kbig", [], ic, _config(cpu_cores=64))
    with pytest.raises(WebserviceException, match="Unschedulable") as failed:
        service.wait_for_deployment(timeout_sec=600)
    assert "Insufficient cpu" in str(failed.value)
    assert service.state == "Unschedulable"


def test_a_crash_in_init_is_failed_with_the_log_tail(
    kws: Workspace, seed_env: Environment, tmp_path: Path
) -> None:
    script = _app(tmp_path / "app", "never", init="raise RuntimeError('no weights here')")
    ic = InferenceConfig(entry_script=str(script), environment=seed_env)
    service = Model.deploy(kws, "kcrash", [], ic, _config())
    with pytest.raises(WebserviceException, match="Failed") as failed:
        service.wait_for_deployment(timeout_sec=600)
    assert "exited with code" in str(failed.value)
    assert "no weights here" in str(failed.value)


def test_cluster_status_names_what_is_wrong_with_the_compute(kube: Kube, tmp_path: Path) -> None:
    target = KubernetesTarget()
    good = ComputeRecord("ok", kubeconfig=kube.kubeconfig)
    assert target.cluster_status(good) == ("Succeeded", None)
    missing = ComputeRecord("gone", kubeconfig=str(tmp_path / "nope.yaml"))
    state, error = target.cluster_status(missing)
    assert state == "Failed" and "cannot be read" in str(error)
    context = ComputeRecord("ctx", kubeconfig=kube.kubeconfig, context="elsewhere")
    state, error = target.cluster_status(context)
    assert state == "Failed" and "no context 'elsewhere'" in str(error)
    absent = ComputeRecord("ns", kubeconfig=kube.kubeconfig, namespace="no-such-namespace")
    state, error = target.cluster_status(absent)
    assert state == "Failed" and "does not exist" in str(error)
    # a user without rights: a fresh service account's token
    name = f"mp-norights-{tmp_path.name[-6:].lower().replace('_', '-')}"
    subprocess.run(
        ["kubectl", "--kubeconfig", kube.kubeconfig, "create", "serviceaccount", name],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        token = ""
        for _ in range(100):
            account = _kubectl(kube, "get", "serviceaccount", name)
            if account.get("secrets"):
                secret = _kubectl(kube, "get", "secret", account["secrets"][0]["name"])
                token = base64.b64decode(secret["data"]["token"]).decode()
                break
            time.sleep(0.2)
        assert token, "no token was issued for the service account"
        config = yaml.safe_load(Path(kube.kubeconfig).read_text())
        config["users"][0]["user"] = {"token": token}
        weak = tmp_path / "weak.yaml"
        weak.write_text(yaml.safe_dump(config))
        state, error = target.cluster_status(ComputeRecord("weak", kubeconfig=str(weak)))
        assert state == "Failed" and "no rights to create deployments" in str(error)
    finally:
        subprocess.run(
            ["kubectl", "--kubeconfig", kube.kubeconfig, "delete", "serviceaccount", name],
            check=False,
            capture_output=True,
            timeout=60,
        )
