"""v1 batch notebooks with only their imports changed: ParallelRunStep over files and tables."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from modelport._ignored import IgnoredWarning
from modelport.batch.driver import BatchFailed
from modelport.core import Dataset, Experiment
from modelport.core.compute import AmlCompute, ComputeTarget
from modelport.errors import InvalidArgument
from modelport.pipeline.core import Pipeline, PipelineData
from modelport.pipeline.steps import ParallelRunConfig, ParallelRunStep
from modelport.workspace import Workspace
from tests.batch.conftest import FILE_SCRIPT


def _config(scripts: Path, entry: str, **kw: object) -> ParallelRunConfig:
    defaults: dict[str, object] = dict(
        source_directory=str(scripts),
        entry_script=entry,
        mini_batch_size=3,
        error_threshold=0,
        output_action="append_row",
        environment=None,
        compute_target="cpu-cluster",
        process_count_per_node=2,
        node_count=1,
    )
    return ParallelRunConfig(**{**defaults, **kw})  # type: ignore[arg-type]


def test_file_dataset_append_row_in_input_order_and_download(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    data = files(20)
    entry = script("batch_score.py", FILE_SCRIPT)
    dataset = Dataset.File.from_files(path=str(data / "*.txt"))
    output = PipelineData("scores", datastore=None)
    step = ParallelRunStep(
        name="batch-score",
        parallel_run_config=_config(entry.parent, "batch_score.py"),
        inputs=[dataset.as_named_input("numbers").as_mount()],
        output=output,
        arguments=["--mult", 3],
        allow_reuse=True,
    )
    pipeline_run = Experiment(bws, "batch_scoring").submit(Pipeline(workspace=bws, steps=[step]))
    assert pipeline_run.wait_for_completion(show_output=True) == "Completed"
    assert pipeline_run.get_status() == "Completed"

    batch_run = pipeline_run.find_step_run("batch-score")[0]
    assert next(pipeline_run.get_children()).id == batch_run.id
    local = batch_run.get_output_data(output.name).download(local_path=str(tmp_path / "res"))
    assert local.endswith(os.path.join("azureml", batch_run.id, "scores"))
    lines = Path(local, "parallel_run_step.txt").read_text().splitlines()
    assert lines == [f"f{i:04d}.txt:{i * 3}" for i in range(20)]  # input order, not finish order
    assert (batch_run.files_dir / "logs" / "mini_batches.log").read_text().count("done") == 7


def test_tabular_dataset_dataframe_rows_space_separated(
    bws: Workspace, script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    csv = tmp_path / "iris.csv"
    csv.write_text("a,b\n" + "".join(f"{i},{i * 10}\n" for i in range(500)))
    entry = script(
        "tab.py",
        """
        def init():
            pass

        def run(mini_batch):
            mini_batch["s"] = mini_batch["a"] + mini_batch["b"]
            return mini_batch
        """,
    )
    dataset = Dataset.Tabular.from_delimited_files(path=[str(csv)])
    step = ParallelRunStep(
        name="tab",
        parallel_run_config=_config(
            entry.parent, "tab.py", mini_batch_size="1KB", append_row_file_name="out.txt"
        ),
        inputs=[dataset.as_named_input("iris")],
        output=PipelineData("inferences"),
    )
    run = Experiment(bws, "tabular").submit(Pipeline(bws, [step]))
    run.wait_for_completion(show_output=False)
    step_run = run.find_step_run("tab")[0]
    assert step_run.get_summary()["mini_batches"] > 1
    out = step_run.get_output_data("inferences").download(str(tmp_path / "o"))
    lines = Path(out, "out.txt").read_text().splitlines()
    assert lines == [f"{i} {i * 10} {i * 11}" for i in range(500)]


def test_summary_only_writes_no_file(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path]
) -> None:
    entry = script("s.py", FILE_SCRIPT)
    step = ParallelRunStep(
        name="summary",
        parallel_run_config=_config(entry.parent, "s.py", output_action="summary_only"),
        inputs=[Dataset.File.from_files(str(files(5)))],
        output=PipelineData("out"),
    )
    run = Experiment(bws, "s").submit(Pipeline(bws, [step]))
    assert run.wait_for_completion(show_output=False) == "Completed"
    step_run = run.find_step_run("summary")[0]
    assert step_run.get_summary()["items"] == 5
    assert list((step_run.files_dir / "outputs" / "out").iterdir()) == []


_FAILS_ON_ODD = """
import os

def init():
    pass

def run(mini_batch):
    # files holding an odd number get no result row; '7' raises outright
    out = []
    for p in mini_batch:
        n = int(open(p).read())
        if n == 7:
            raise ValueError("seven is broken")
        if n % 2 == 0:
            out.append(os.path.basename(p))
    return out
"""


def test_error_threshold_exceeded_fails_naming_inputs(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path]
) -> None:
    entry = script("odd.py", _FAILS_ON_ODD)
    step = ParallelRunStep(
        name="odd",
        parallel_run_config=_config(
            entry.parent, "odd.py", error_threshold=2, process_count_per_node=1, run_max_try=2
        ),
        inputs=[Dataset.File.from_files(str(files(12)))],
    )
    run = Experiment(bws, "e").submit(Pipeline(bws, [step]))
    with pytest.raises(BatchFailed) as raised:
        run.wait_for_completion(show_output=False)
    assert run.get_status() == "Failed"
    message = str(raised.value)
    assert "error_threshold 2 exceeded" in message and "f0001.txt" in message
    assert run.find_step_run("odd")[0].get_status() == "Failed"


def test_error_threshold_minus_one_ignores_failures(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    entry = script("odd.py", _FAILS_ON_ODD)
    step = ParallelRunStep(
        name="odd",
        parallel_run_config=_config(entry.parent, "odd.py", error_threshold=-1, run_max_try=2),
        inputs=[Dataset.File.from_files(str(files(12)))],
        output=PipelineData("o"),
    )
    run = Experiment(bws, "e").submit(Pipeline(bws, [step]))
    assert run.wait_for_completion(show_output=False) == "Completed"
    step_run = run.find_step_run("odd")[0]
    summary = step_run.get_summary()
    # mini-batch 2 (6,7,8) raised on both tries: 3 failed; odd files elsewhere: 1,3,5,9,11
    assert summary["failed_items"] == 3 + 5
    lines = (step_run.files_dir / "outputs" / "o" / "parallel_run_step.txt").read_text().split()
    assert lines == [f"f{i:04d}.txt" for i in (0, 2, 4, 10)]
    mb_log = (step_run.files_dir / "logs" / "mini_batches.log").read_text()
    assert "try 2 failed" in mb_log and "seven is broken" in mb_log


def test_allow_reuse_skips_finished_work_and_false_recomputes(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    entry = script(
        "count.py",
        f"""
        import os

        def init():
            pass

        def run(mini_batch):
            with open({str(calls)!r}, "a") as f:
                f.write(os.path.basename(mini_batch[0]) + "\\n")
            return [os.path.basename(p) for p in mini_batch]
        """,
    )
    data = files(9)

    def submit(allow_reuse: bool) -> dict[str, object]:
        step = ParallelRunStep(
            name="count",
            parallel_run_config=_config(entry.parent, "count.py"),
            inputs=[Dataset.File.from_files(str(data))],
            output=PipelineData("o"),
            allow_reuse=allow_reuse,
        )
        run = Experiment(bws, "reuse").submit(Pipeline(bws, [step]))
        assert run.wait_for_completion(show_output=False) == "Completed"
        return run.find_step_run("count")[0].get_summary()

    first = submit(True)
    assert first["reused_mini_batches"] == 0 and len(calls.read_text().split()) == 3
    second = submit(True)
    assert second["reused_mini_batches"] == 3 and len(calls.read_text().split()) == 3
    assert Path(str(second["output"])).read_text() == Path(str(first["output"])).read_text()
    third = submit(False)
    assert third["reused_mini_batches"] == 0 and len(calls.read_text().split()) == 6


def test_v1_settings_checked_when_built(
    files: Callable[..., Path], script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    entry = script("ok.py", FILE_SCRIPT)
    with pytest.warns(IgnoredWarning, match=r"node_count=2\) on compute_target=None is ignored"):
        _config(entry.parent, "ok.py", node_count=2, compute_target=None)
    with pytest.raises(InvalidArgument, match="does not exist"):
        _config(entry.parent, "missing.py")
    script("norun.py", "def init():\n    pass\n")
    with pytest.raises(InvalidArgument, match=r"norun.py does not define a run\(\)"):
        _config(entry.parent, "norun.py")
    with pytest.raises(InvalidArgument, match="output_action"):
        _config(entry.parent, "ok.py", output_action="append_rows")
    with pytest.raises(InvalidArgument, match="not a number of files"):
        ParallelRunStep(
            name="bad",
            parallel_run_config=_config(entry.parent, "ok.py", mini_batch_size="1MB"),
            inputs=[Dataset.File.from_files(str(files(2)))],
        )
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidArgument, match="holds no files"):
        Dataset.File.from_files(str(empty))
    with pytest.raises(InvalidArgument, match="matches no files"):
        Dataset.File.from_files(str(tmp_path / "nothing" / "*.png"))


def test_node_count_on_a_compute_that_is_this_machine_runs_here_with_a_warning(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    """v1's MNIST ParallelRunStep notebook asks its AmlCompute cluster for node_count=2: the
    step runs on this machine, and the warning says so once, when the pipeline is submitted."""
    entry = script("ok.py", FILE_SCRIPT)
    output = PipelineData("scores", datastore=None)
    step = ParallelRunStep(
        name="many",
        parallel_run_config=_config(entry.parent, "ok.py", node_count=2),  # "cpu-cluster"
        inputs=[Dataset.File.from_files(str(files(4)))],
        output=output,
    )
    with pytest.warns(IgnoredWarning, match="compute_target='cpu-cluster' is ignored") as seen:
        run = Experiment(bws, "many").submit(Pipeline(workspace=bws, steps=[step]))
    assert len([w for w in seen if issubclass(w.category, IgnoredWarning)]) == 1
    assert run.wait_for_completion(show_output=False) == "Completed"
    batch_run = run.find_step_run("many")[0]
    local = batch_run.get_output_data(output.name).download(local_path=str(tmp_path / "res"))
    lines = Path(local, "parallel_run_step.txt").read_text().splitlines()
    assert lines == [f"f{i:04d}.txt:{i}" for i in range(4)]


def test_node_count_on_an_amlcompute_object_warns_once(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path]
) -> None:
    """The MNIST sample's form: the compute object from ComputeTarget.create(AmlCompute...)."""
    entry = script("ok.py", FILE_SCRIPT)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=4)
        cluster = ComputeTarget.create(bws, "cpu-cluster", config)
        step = ParallelRunStep(
            name="mnist",
            parallel_run_config=_config(
                entry.parent, "ok.py", node_count=2, compute_target=cluster
            ),
            inputs=[Dataset.File.from_files(str(files(3)))],
        )
        run = Experiment(bws, "mnist").submit(Pipeline(workspace=bws, steps=[step]))
        assert run.wait_for_completion(show_output=False) == "Completed"
    node_warnings = [w for w in seen if "node_count=2" in str(w.message)]
    assert len(node_warnings) == 1 and issubclass(node_warnings[0].category, IgnoredWarning)
