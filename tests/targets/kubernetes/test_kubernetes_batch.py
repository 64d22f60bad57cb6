"""A ParallelRunStep with node_count=2 on the real cluster: one Indexed Job (or per-shard
Jobs on a server without them), shards sharing this machine's folders, the output gathered
in input order — byte-equal to a local node_count=1 run — and nothing left on the cluster."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from modelport.core import Dataset, Experiment, Workspace
from modelport.core.compute import ComputeTarget
from modelport.pipeline.core import Pipeline, PipelineData, PipelineRun
from modelport.pipeline.steps import ParallelRunConfig, ParallelRunStep
from tests.conftest import run_cli
from tests.targets.kubernetes.conftest import Kube

pytestmark = [
    pytest.mark.kubernetes,
    pytest.mark.containers,
    pytest.mark.slow,
    pytest.mark.timeout(1500),
]

SCRIPT = """
import os

BAD = BAD_SET

def init():
    pass

def run(mini_batch):
    # an input in BAD gets no result row, so it counts as failed
    return [
        f"{os.path.basename(p)}:{int(open(p).read()) * 7}"
        for p in mini_batch
        if open(p).read() not in BAD
    ]
"""


def _files(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"f{i:04d}.txt").write_text(str(i))
    return folder


def _script(folder: Path, bad: set[int]) -> Path:
    folder.mkdir()
    body = SCRIPT.replace("BAD_SET", repr({str(b) for b in bad}))
    (folder / "score.py").write_text(body)
    return folder


def _submit(
    ws: Workspace, name: str, source: Path, data: Path, *, compute: object, nodes: int, **kw: object
) -> PipelineRun:
    config = ParallelRunConfig(
        source_directory=str(source),
        entry_script="score.py",
        mini_batch_size=3,
        error_threshold=kw.pop("error_threshold", 0),  # type: ignore[arg-type]
        output_action="append_row",
        compute_target=compute,
        process_count_per_node=2,
        node_count=nodes,
        run_max_try=kw.pop("run_max_try", 1),  # type: ignore[arg-type]
    )
    step = ParallelRunStep(
        name=name,
        parallel_run_config=config,
        inputs=[Dataset.File.from_files(path=str(data / "*.txt")).as_named_input("numbers")],
        output=PipelineData("scores"),
        allow_reuse=bool(kw.pop("allow_reuse", False)),
    )
    return Experiment(ws, name).submit(Pipeline(workspace=ws, steps=[step]))


def _stop_driver(run: PipelineRun) -> None:
    pid = int(run.get_properties().get("driver_pid", "0") or 0)
    if pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def test_two_nodes_give_the_bytes_of_a_local_run_and_leave_nothing(
    kws: Workspace, tmp_path: Path
) -> None:
    data = _files(tmp_path / "data", 40)
    source = _script(tmp_path / "src", set())
    local = _submit(kws, "local", source, data, compute=None, nodes=1)
    started = time.monotonic()
    sharded = _submit(kws, "sharded", source, data, compute=ComputeTarget(kws, "kube"), nodes=2)
    try:
        assert local.wait_for_completion(show_output=False) == "Completed"
        assert sharded.wait_for_completion(show_output=True, timeout_seconds=900) == "Completed"
    finally:
        _stop_driver(local)
        _stop_driver(sharded)
    print(f"node_count=2 on the cluster: {time.monotonic() - started:.1f}s (image build included)")
    expected = [f"f{i:04d}.txt:{i * 7}" for i in range(40)]
    want = Path(local.find_step_run("local")[0].get_summary()["output"]).read_bytes()
    step = sharded.find_step_run("sharded")[0]
    summary = step.get_summary()
    got = Path(summary["output"]).read_bytes()
    assert want.decode().splitlines() == expected
    assert got == want  # same bytes, input order
    assert (summary["mini_batches"], summary["node_count"], summary["failed_items"]) == (14, 2, 0)
    logs = step.files_dir / "logs"
    driver_log = (sharded.files_dir / "logs" / "driver.log").read_text()
    assert "shard 0/2: finished: 7/7 mini-batches done" in driver_log
    assert "shard 1/2: finished: 7/7 mini-batches done" in driver_log
    assert "and its pods deleted" in driver_log
    assert (logs / "mini_batches.log").read_text().count(" done ") == 14
    for k in (0, 1):  # each shard's pod log and worker logs are in the run's logs
        assert list((logs / f"shard-{k}").glob("pod-*.log"))
        assert list((logs / f"shard-{k}").glob("worker-*.log"))
    # resubmitted with allow_reuse: every shard's journal has it all, no Job is started
    again = _submit(
        kws, "sharded", source, data, compute=ComputeTarget(kws, "kube"), nodes=2, allow_reuse=True
    )
    try:
        assert again.wait_for_completion(show_output=False, timeout_seconds=600) == "Completed"
    finally:
        _stop_driver(again)
    reused = again.find_step_run("sharded")[0].get_summary()
    assert reused["reused_mini_batches"] == 14 and Path(reused["output"]).read_bytes() == want
    assert "applied to" not in (again.files_dir / "logs" / "driver.log").read_text()
    w = ["-w", str(kws.path)]
    shown = json.loads(run_cli("batch", "show", *w, step.id, "-o", "json").stdout)
    assert shown["status"] == "Completed" and shown["mini_batches"] == 14
    assert "100%" in shown["progress"]  # the shards' progress, summed
    one = run_cli("batch", "logs", *w, step.id, "--shard", "1").stdout
    assert "shard 1/2: finished" in one and "shard 0/2" not in one and "--- pod-" in one
    assert (
        run_cli("batch", "logs", *w, step.id, "--shard", "1", "--mini-batches").stdout.count(
            " done "
        )
        == 7
    )
    # the kws fixture asserts at teardown that no Job, pod or Secret of the workspace is left


def test_failures_are_counted_over_all_shards_and_the_inputs_named(
    kws: Workspace, tmp_path: Path
) -> None:
    data = _files(tmp_path / "data", 12)  # mini-batches 0..3: shard 0 gets 0, 2; shard 1 gets 1, 3
    bad = {1, 4, 10}  # mini-batch 0 (shard 0), 1 (shard 1), 3 (shard 1): 3 failures in all
    source = _script(tmp_path / "src", bad)
    run = _submit(
        kws,
        "failing",
        source,
        data,
        compute=ComputeTarget(kws, "kube"),
        nodes=2,
        error_threshold=2,  # neither shard exceeds it alone (1 and 2 failures)
    )
    try:
        assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    finally:
        _stop_driver(run)
    error = run.find_step_run("failing")[0].get_summary()["error"]
    assert error.startswith("error_threshold 2 exceeded: 3 failed files. Failing inputs: ")
    for name in ("f0001.txt", "f0004.txt", "f0010.txt"):
        assert name in error
    assert (
        error.index("mini-batch 0 ") < error.index("mini-batch 1 ") < error.index("mini-batch 3 ")
    )


GATED = """
import os
import time

GATE = GATE_PATH

def init():
    pass

def run(mini_batch):
    names = [os.path.basename(p) for p in mini_batch]
    if "f0036.txt" in names:  # shard 0's last mini-batch waits until the test lets it go
        while not os.path.exists(GATE):
            time.sleep(0.1)
    return [f"{n}:{int(open(p).read()) * 7}" for n, p in zip(names, mini_batch)]
"""


def _shard_process(step_file: Path, index: int) -> psutil.Process | None:
    """The shard's main process, which runs in its pod's container on this machine."""
    for proc in psutil.process_iter(["cmdline"]):
        if proc.info["cmdline"] == ["python", "-m", "modelport.batch.shard", str(step_file)]:
            with contextlib.suppress(psutil.Error):
                if proc.environ().get("JOB_COMPLETION_INDEX") == str(index):
                    return proc
    return None


def _waiting_at_gate(ws: Workspace) -> bool:
    """Shard 0 has journalled a mini-batch (its last one waits at the gate)."""
    found = list((ws.path / "batch").glob("*/shard-0/journal.jsonl"))
    return bool(found) and '"status": "done"' in found[0].read_text()


def test_a_killed_shard_pod_is_replaced_and_resumes_its_shard_without_duplicates(
    kws: Workspace, tmp_path: Path
) -> None:
    data = _files(tmp_path / "data", 40)
    source = tmp_path / "src"
    source.mkdir()
    gate = source / "gate"
    (source / "score.py").write_text(GATED.replace("GATE_PATH", repr(str(gate))))
    run = _submit(
        kws, "resumed", source, data, compute=ComputeTarget(kws, "kube"), nodes=2, run_max_try=2
    )
    try:
        step = next(iter(run.get_steps()))
        driver_log = run.files_dir / "logs" / "driver.log"
        deadline = time.monotonic() + 600
        shard = None
        while shard is None:  # shard 0 has journalled a mini-batch and waits at the gate
            assert time.monotonic() < deadline, "shard 0 never got going"
            assert run.get_status() not in ("Failed", "Completed")
            if _waiting_at_gate(kws):
                shard = _shard_process(step.files_dir / "step.json", 0)
            time.sleep(0.2)
        shard.kill()  # the pod's main process: the container exits 137, as on a lost node
        while driver_log.read_text().count("shard 0/2: 7 mini-batches") < 2:
            assert time.monotonic() < deadline, "no pod replaced the killed one"
            assert run.get_status() not in ("Failed", "Completed")
            time.sleep(0.2)
        gate.write_text("go")
        assert run.wait_for_completion(show_output=False, timeout_seconds=600) == "Completed"
    finally:
        gate.write_text("go")
        _stop_driver(run)
    text = driver_log.read_text()
    again = [line for line in text.splitlines() if "shard 0/2: 7 mini-batches" in line][1]
    assert int(again.split("mini-batches, ")[1].split(" done before")[0]) >= 1, again
    lines = Path(step.get_summary()["output"]).read_text().splitlines()
    assert lines == [f"f{i:04d}.txt:{i * 7}" for i in range(40)]  # once each, input order
    assert len(list((step.files_dir / "logs" / "shard-0").glob("pod-*.log"))) == 2


def _shard_pod_running(kube: Kube, ws: Workspace, index: int) -> bool:
    """The API server shows the shard's pod Running with its container ready (the kubelet has
    reported it; a pod deleted while it starts is stopped by a 1.20 kubelet only a minute
    later, which would slow this test, not change it)."""
    from modelport.packaging.engine import workspace_key
    from modelport.targets.kubernetes.shardjob import shard_of_pod

    listed = subprocess.run(
        ["kubectl", "--kubeconfig", kube.kubeconfig, "get", "pods", "-A", "-o", "json", "-l",
         f"modelport.io/workspace={workspace_key(str(ws.path))}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        return False
    for pod in json.loads(listed.stdout)["items"]:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        if shard_of_pod(pod) == index and statuses and all(c.get("ready") for c in statuses):
            return True
    return False


def test_a_stopped_run_ends_its_shards_and_leaves_nothing(
    kws: Workspace, kube: Kube, tmp_path: Path
) -> None:
    data = _files(tmp_path / "data", 40)
    source = tmp_path / "src"
    source.mkdir()
    gate = source / "gate"  # never opened: shard 0 waits until the run is stopped
    (source / "score.py").write_text(GATED.replace("GATE_PATH", repr(str(gate))))
    run = _submit(kws, "stopped", source, data, compute=ComputeTarget(kws, "kube"), nodes=2)
    try:
        step = next(iter(run.get_steps()))
        deadline = time.monotonic() + 600
        while not (_waiting_at_gate(kws) and _shard_pod_running(kube, kws, 0)):
            assert time.monotonic() < deadline, "shard 0 never got going"
            assert run.get_status() not in ("Failed", "Completed")
            time.sleep(0.2)
        os.killpg(int(run.get_properties()["driver_pid"]), signal.SIGTERM)  # as the CLI stops
        assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    finally:
        _stop_driver(run)
    assert "stopped (SIGTERM)" in step.get_summary()["error"]
    assert "and its pods deleted" in (run.files_dir / "logs" / "driver.log").read_text()
    # kws asserts at teardown that no Job or pod of the workspace is left
