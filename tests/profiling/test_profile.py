"""Profiling real services: recommendations that order sensibly, figures that agree with an
independent client, failures reported clearly, and no service left behind."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from modelport.configs import DeploymentConfig
from modelport.core import Model, Workspace
from modelport.core.dataset import Dataset
from modelport.core.model import InferenceConfig
from modelport.core.webservice import LocalWebservice, Webservice
from modelport.errors import AlreadyExists, InvalidArgument, NotFound
from modelport.profiling.profile import ModelProfile
from tests.conftest import SEED_SCORE, run_cli
from tests.deploy.conftest import SCRIPTS as DEPLOY_SCRIPTS
from tests.profiling.conftest import FAST, SCRIPTS


def _config(script: Path) -> InferenceConfig:
    return InferenceConfig(entry_script=str(script))  # environment=None: this interpreter


def _assert_cleaned_up(profile: ModelProfile) -> None:
    assert not (profile.folder / "service").exists()
    assert Webservice.list(profile.workspace) == []
    assert (profile.folder / "service.log").exists()


def _own_cpu_s_per_request(service: Webservice, body: bytes, requests: int = 40) -> float:
    """CPU seconds the service's process tree spends per request, measured here with psutil.

    CPU time per request, unlike a request rate, does not change with how busy the machine is.
    """
    import psutil

    status = json.loads((service.folder / "status.json").read_text())
    root = psutil.Process(status["supervisor_pid"])
    tree = [root, *root.children(recursive=True)]

    def cpu_s() -> float:
        return sum(sum(p.cpu_times()[:2]) for p in tree)

    with httpx.Client(headers={"Content-Type": "application/json"}, timeout=30) as client:
        client.post(service.scoring_uri, content=body)
        before = cpu_s()
        for _ in range(requests):
            assert client.post(service.scoring_uri, content=body).status_code == 200
        return (cpu_s() - before) / requests


def _cpu_s_per_request(step: dict) -> float:
    """The profile's CPU seconds per request in one step (cores used / requests per second)."""
    return step["cpu_mean_cores"] / step["requests_per_second"]


def test_heavy_model_gets_more_than_trivial_and_figures_match(
    pws: Workspace, tmp_path: Path
) -> None:
    requests = tmp_path / "req.txt"
    requests.write_text('{"a": 1}\n' * 10)
    trivial = Model.profile(
        pws, "trivial", [], _config(SCRIPTS / "trivial.py"), str(requests), **FAST
    )
    trivial.wait_for_completion()
    heavy = Model.profile(pws, "heavy", [], _config(SCRIPTS / "heavy.py"), str(requests), **FAST)
    heavy.wait_for_completion()
    light, busy = trivial.get_details(), heavy.get_details()
    assert light["state"] == busy["state"] == "Succeeded", (light["error"], busy["error"])
    assert busy["recommendedCpu"] > light["recommendedCpu"]
    assert busy["recommendedMemoryInGB"] >= light["recommendedMemoryInGB"] + 0.3
    assert busy["maxUtilizedMemoryInGB"] >= light["maxUtilizedMemoryInGB"] + 0.35  # 400 MB held
    # heavy.py burns 20 ms of CPU per request whatever else the machine does; trivial.py only
    # the server's overhead. Compared per request, not as cores: a loaded machine gives fewer.
    heavy_cpu = _cpu_s_per_request(busy["modelport"]["steps"][0])
    light_cpu = _cpu_s_per_request(light["modelport"]["steps"][0])
    assert heavy_cpu >= 0.015 and heavy_cpu > 5 * light_cpu, (heavy_cpu, light_cpu)

    for details in (light, busy):
        steps = details["modelport"]["steps"]
        assert details["totalQueries"] == sum(s["requests"] for s in steps) > 0
        assert details["errorCount"] == 0 and details["errorSamples"] == []
        for s in steps:
            assert s["cpu_mean_cores"] <= s["cpu_peak_cores"] <= details["maxUtilizedCpu"]
            assert s["latency_p50_ms"] <= s["latency_p90_ms"] <= s["latency_p99_ms"]
            assert s["requests_per_second"] == pytest.approx(
                s["requests"] / s["duration_s"], rel=0.01
            )
        chart = Path(details["chart"]).read_text()
        assert "<svg" in chart and "<script" not in chart
        assert (
            json.loads((Path(details["chart"]).parent / "result.json").read_text())["state"]
            == "Succeeded"
        )
    _assert_cleaned_up(trivial)
    _assert_cleaned_up(heavy)

    # an independent measurement of the same model agrees on the CPU each request costs (a
    # request rate would not: it follows the machine's load from one moment to the next)
    service = Model.deploy(
        pws,
        "heavy-check",
        [],
        _config(SCRIPTS / "heavy.py"),
        LocalWebservice.deploy_configuration(workers=1),
    )
    service.wait_for_deployment()
    own = _own_cpu_s_per_request(service, b'{"a": 1}')
    assert 0.75 * own <= heavy_cpu <= 1.33 * own, (heavy_cpu, own)


def test_seed_example_and_write_dc_feeds_deploy(
    pws: Workspace, model_file: Path, seed_requests: Path, tmp_path: Path
) -> None:
    model = Model.register(pws, model_file, "sklearn_regression")
    dataset = Dataset.register(pws, "sample_request_data", seed_requests)
    profile = Model.profile(
        pws,
        "unique_name",
        [model],
        _config(SEED_SCORE),
        input_dataset=Dataset.get_by_name(workspace=pws, name=dataset.name),
        **FAST,
    )
    profile.wait_for_completion(True)
    details = profile.get_details()
    assert details["state"] == "Succeeded" and details["errorCount"] == 0
    assert details["recommendedCpu"] >= 0.1 and details["recommendedMemoryInGB"] >= 0.1
    assert details["models"] == ["sklearn_regression:1"]
    _assert_cleaned_up(profile)

    dc_path = tmp_path / "deploymentconfig.json"
    shown = run_cli(
        "profile", "show", "unique_name", "-w", str(pws.path), "--write-dc", str(dc_path)
    )
    assert shown.returncode == 0, shown.stderr
    assert "recommended cpu" in shown.stdout
    written = json.loads(dc_path.read_text())
    assert written["containerResourceRequirements"] == {
        "cpu": details["recommendedCpu"],
        "memoryInGB": details["recommendedMemoryInGB"],
    }
    service = Model.deploy(
        pws,
        "recommended",
        [model],
        _config(SEED_SCORE),
        DeploymentConfig.from_file(dc_path),
    )
    service.wait_for_deployment()
    assert service.state == "Healthy" and service.deployment_config.workers == 1

    with pytest.raises(AlreadyExists, match="Profile 'unique_name' already exists"):
        Model.profile(pws, "unique_name", [model], _config(SEED_SCORE), str(seed_requests))


def test_service_that_fails_to_start_gives_failed_profile(
    pws: Workspace, seed_requests: Path
) -> None:
    profile = Model.profile(
        pws, "broken", [], _config(DEPLOY_SCRIPTS / "broken_init.py"), str(seed_requests), **FAST
    )
    profile.wait_for_completion()
    details = profile.get_details()
    assert details["state"] == "Failed"
    assert "cannot find the weights file" in details["error"]
    assert details["recommendedCpu"] is None
    _assert_cleaned_up(profile)
    listed = run_cli("profile", "show", "broken", "-w", str(pws.path))
    assert listed.returncode == 1 and "cannot find the weights file" in listed.stderr


def test_invalid_line_is_named_and_nothing_is_kept(pws: Workspace, tmp_path: Path) -> None:
    good = json.dumps({"data": [[1] * 10]})
    requests = tmp_path / "req.txt"
    requests.write_text(f"{good}\n{good}\n{{not json\n{good}\n")
    profile = Model.profile(
        pws, "schema", [], _config(SCRIPTS / "schema.py"), str(requests), **FAST
    )
    with pytest.raises(
        InvalidArgument, match=r"line 3 of .*req.txt is not a valid request .*HTTP 400"
    ):
        profile.wait_for_completion()
    with pytest.raises(NotFound):
        ModelProfile(pws, "schema")
    assert not profile.folder.exists()


def test_failed_requests_are_counted_with_samples(pws: Workspace, tmp_path: Path) -> None:
    requests = tmp_path / "req.txt"
    requests.write_text('{"x": 1}\n{"x": 2}\n{"x": 3}\n{"x": "fail"}\n')
    profile = Model.profile(
        pws,
        "flaky",
        [],
        _config(SCRIPTS / "sometimes_fails.py"),
        str(requests),
        concurrency_steps=(1, 2),
        step_duration_s=0.5,
    )
    profile.wait_for_completion()
    details = profile.get_details()
    assert details["state"] == "Succeeded"
    assert details["errorCount"] == pytest.approx(details["totalQueries"] / 4, abs=3)
    assert details["errorSamples"] and details["errorSamples"][0].startswith("line 4: HTTP 500")
    assert details["maxConcurrencyWithinTarget"] is None  # 25% errors never meet the target


def test_cli_errors_are_one_line(pws: Workspace, tmp_path: Path) -> None:
    ic = tmp_path / "inferenceconfig.json"
    ic.write_text(json.dumps({"entryScript": str(SCRIPTS / "trivial.py")}))
    base = ["profile", "run", "-w", str(pws.path), "-n", "p1", "--ic", str(ic)]
    unknown = run_cli(*base, "--idi", "nosuchdata")
    assert unknown.returncode == 2
    assert (
        unknown.stderr.count("\n") == 1 and "Dataset 'nosuchdata' does not exist" in unknown.stderr
    )
    missing = run_cli(*base, "--idi", str(tmp_path / "none.txt"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert run_cli("profile", "list", "-w", str(pws.path), "-o", "json").stdout.strip() == "[]"


def test_model_profile_command_exists() -> None:
    shown = run_cli("model", "profile", "--help")
    assert shown.returncode == 0 and "--idi" in shown.stdout
