"""A sharded batch step's Job (no cluster): the Indexed Job, its fallback, the shard split, and
the one-line refusal of a compute whose nodes cannot share this machine's folders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelport._ignored import IgnoredWarning
from modelport.batch.plan import plan
from modelport.batch.shard import mine
from modelport.batch.sharded import folders
from modelport.batch.spec import BatchSpec
from modelport.core import Workspace
from modelport.core.compute import ComputeTarget
from modelport.errors import InvalidArgument
from modelport.pipeline.steps import ParallelRunConfig
from modelport.targets.kubernetes.shardjob import ShardJobManifest, object_name, render

FOLDERS = [("/var/ws", True), ("/data/in", False)]


def _manifest(**fields: object) -> ShardJobManifest:
    values: dict[str, object] = dict(
        name=object_name("score-Run_123"),
        namespace="ns",
        workspace_key="wskey",
        work_key="workkey",
        shards=3,
        image="reg:5000/modelport-kube/batch-score:wskey-r1",
        command=["python", "-m", "modelport.batch.shard", "/var/ws/runs/r/step.json"],
        folders=FOLDERS,
        max_tries=3,
        run_as=(1000, 1000),
    )
    return ShardJobManifest(**{**values, **fields})  # type: ignore[arg-type]


def test_one_indexed_job_runs_every_shard_with_the_folders_at_their_own_paths() -> None:
    import kubernetes_validate

    [job] = render(_manifest())
    kubernetes_validate.validate(job, "1.30", strict=True)
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 3, 3)
    assert spec["backoffLimit"] == 3 * 2  # each shard may fail max_tries - 1 times on average
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000}
    [container] = pod["containers"]
    assert container["command"][:3] == ["python", "-m", "modelport.batch.shard"]
    assert container["resources"]["requests"] == {"cpu": "10m", "memory": "64Mi"}
    assert "JOB_COMPLETION_INDEX" not in {e["name"] for e in container["env"]}  # Kubernetes sets it
    mounts = {m["mountPath"]: m["readOnly"] for m in container["volumeMounts"]}
    assert mounts == {"/var/ws": False, "/data/in": True}
    assert [v["hostPath"] for v in pod["volumes"]] == [
        {"path": "/var/ws", "type": "Directory"},
        {"path": "/data/in", "type": "Directory"},
    ]
    for labels in (job["metadata"]["labels"], spec["template"]["metadata"]["labels"]):
        assert labels["modelport.io/workspace"] == "wskey"
        assert labels["modelport.io/batch-run"] == job["metadata"]["name"]


def test_without_indexed_jobs_each_shard_is_a_job_told_its_index() -> None:
    import kubernetes_validate

    jobs = render(_manifest(pull_secret="p"), indexed=False)
    assert [j["metadata"]["name"] for j in jobs] == [f"{_manifest().name}-{k}" for k in range(3)]
    for k, job in enumerate(jobs):
        kubernetes_validate.validate(job, "1.30", strict=True)
        assert "completionMode" not in job["spec"]
        assert (job["spec"]["completions"], job["spec"]["backoffLimit"]) == (1, 2)
        pod = job["spec"]["template"]["spec"]
        env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
        assert env["JOB_COMPLETION_INDEX"] == str(k)
        assert job["spec"]["template"]["metadata"]["labels"]["modelport.io/shard"] == str(k)
        assert pod["imagePullSecrets"] == [{"name": "p"}]


def test_object_names_are_dns_labels_with_room_for_suffixes() -> None:
    for text in ("score-Run_123", "x" * 200, "--Weird__Name--", "a"):
        name = object_name(text)
        assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", name) and len(name) <= 52
    assert object_name("a-run") != object_name("a_run")  # the digest keeps them apart


def test_shards_split_mini_batches_round_robin_each_exactly_once(tmp_path: Path) -> None:
    inputs = []
    for i in range(40):
        path = tmp_path / f"f{i:04d}.txt"
        path.write_text(str(i))
        inputs.append(str(path))
    spec = BatchSpec("s", "x.py", str(tmp_path), "files", inputs, 3, 0)
    batches = plan(spec)
    slices = [mine(batches, k, 3) for k in range(3)]
    assert sorted(b.index for s in slices for b in s) == list(range(len(batches)))
    assert [b.index for b in slices[1]] == [1, 4, 7, 10, 13]
    assert plan(spec) == batches  # every node computes the same plan


def test_shards_need_the_workspace_written_and_the_data_read_only(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    try:
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "data").mkdir()
        inputs = [str(tmp_path / "src" / "data" / "a.txt"), str(tmp_path / "other" / "b.txt")]
        spec = BatchSpec("s", "x.py", str(tmp_path / "src"), "files", inputs, 3, 0)
        found = {f.path: f.writable for f in folders(ws, spec)}
        assert found == {
            str(ws.path): True,
            str(tmp_path / "src"): False,  # its data folder is inside it
            str(tmp_path / "other"): False,
        }
    finally:
        ws.close()


def test_a_compute_without_storage_shared_with_this_machine_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    from modelport.deploy.computes import ComputeRecord, attach_compute

    ws = Workspace.create(tmp_path / "ws")
    try:
        (tmp_path / "score.py").write_text("def run(mini_batch):\n    return mini_batch\n")
        for name, extra in (
            ("remote", {"exposure": "load-balancer"}),
            ("elsewhere", {"exposure": "host-network", "node_address": "10.1.2.3"}),
            ("optout", {"exposure": "host-network", "shared_storage": False}),
        ):
            attach_compute(ws, ComputeRecord(name, kubeconfig="/nonexistent", extra=extra))
            with pytest.raises(InvalidArgument) as caught:
                ParallelRunConfig(
                    source_directory=str(tmp_path),
                    entry_script="score.py",
                    compute_target=ComputeTarget(ws, name),
                    node_count=2,
                )
            message = caught.value.message
            assert "\n" not in message and "storage shared with this machine" in message
            assert "node_address='127.0.0.1'" in message and "shared_storage=True" in message
            # one node is this machine's to give: the step runs here, and a warning says why
            with pytest.warns(IgnoredWarning, match="share no storage with this machine"):
                one = ParallelRunConfig(
                    source_directory=str(tmp_path),
                    entry_script="score.py",
                    compute_target=ComputeTarget(ws, name),
                    node_count=1,
                )
            assert one.compute is None
        attach_compute(
            ws, ComputeRecord("nfs", kubeconfig="/nonexistent", extra={"shared_storage": True})
        )
        attach_compute(
            ws,
            ComputeRecord(
                "here",
                kubeconfig="/nonexistent",
                extra={"exposure": "host-network", "node_address": "127.0.0.1"},
            ),
        )
        for name in ("nfs", "here"):
            config = ParallelRunConfig(
                source_directory=str(tmp_path),
                entry_script="score.py",
                compute_target=ComputeTarget(ws, name),
                node_count=2,
            )
            assert config.compute == name
        with pytest.warns(IgnoredWarning, match="compute_target=None is ignored"):
            ParallelRunConfig(source_directory=str(tmp_path), entry_script="score.py", node_count=2)
    finally:
        ws.close()


def test_completed_indexes_and_the_shared_storage_setting() -> None:
    from modelport.core.compute import KubernetesCompute
    from modelport.targets.kubernetes.shards import _indexes

    assert _indexes("0,2-4,7") == {0, 2, 3, 4, 7} and _indexes("") == set()
    config = KubernetesCompute.attach_configuration("kubeconfig", shared_storage=True)
    assert config.options == {"shared_storage": True}
