"""Execution: init() once per worker, timeouts kill and retry, a SIGKILLed run resumes exactly."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from modelport.batch.driver import BatchFailed
from modelport.core import Dataset, Experiment
from modelport.pipeline.core import Pipeline, PipelineData, PipelineRun
from modelport.pipeline.steps import ParallelRunConfig, ParallelRunStep
from modelport.workspace import Workspace
from tests.batch.conftest import kill_driver, wait_for


def _submit(
    ws: Workspace, entry: Path, data: Path, allow_reuse: bool = True, **config: object
) -> PipelineRun:
    settings: dict[str, object] = dict(
        source_directory=str(entry.parent),
        entry_script=entry.name,
        mini_batch_size=2,
        error_threshold=0,
        output_action="append_row",
        process_count_per_node=2,
        node_count=1,
    )
    step = ParallelRunStep(
        name="step",
        parallel_run_config=ParallelRunConfig(**{**settings, **config}),  # type: ignore[arg-type]
        inputs=[Dataset.File.from_files(str(data))],
        output=PipelineData("out"),
        allow_reuse=allow_reuse,
    )
    return Experiment(ws, "exec").submit(Pipeline(ws, [step]))


def _output(run: PipelineRun) -> list[str]:
    step = run.find_step_run("step")[0]
    return (step.files_dir / "outputs" / "out" / "parallel_run_step.txt").read_text().splitlines()


def test_init_runs_once_per_worker(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    inits = tmp_path / "inits.txt"
    entry = script(
        "pid.py",
        f"""
        import os

        def init():
            with open({str(inits)!r}, "a") as f:
                f.write(f"{{os.getpid()}}\\n")

        def run(mini_batch):
            return [f"{{os.getpid()}}" for _ in mini_batch]
        """,
    )
    run = _submit(bws, entry, files(20))
    assert run.wait_for_completion(show_output=False) == "Completed"
    init_pids = inits.read_text().split()
    assert len(init_pids) == len(set(init_pids)) <= 2  # one init() per worker process
    assert set(_output(run)) <= set(init_pids) and len(_output(run)) == 20


_HANGS_ONCE = """
import os
import time

MARKER = {marker!r}

def init():
    pass

def run(mini_batch):
    names = [os.path.basename(p) for p in mini_batch]
    if "f0004.txt" in names and ({always} or not os.path.exists(MARKER)):
        open(MARKER, "w").close()
        time.sleep(3600)  # stuck: only the run_invocation_timeout gets it out
    return names
"""


def test_timeout_kills_the_worker_and_retries(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    entry = script("hang.py", _HANGS_ONCE.format(marker=str(tmp_path / "hung"), always=False))
    # generous timeout: other mini-batches are tiny; if load ever pushes one past it, it is
    # retried too, and the assertions below hold either way
    run = _submit(bws, entry, files(8), run_invocation_timeout=3, run_max_try=3)
    assert run.wait_for_completion(show_output=False) == "Completed"
    assert _output(run) == [f"f{i:04d}.txt" for i in range(8)]
    step = run.find_step_run("step")[0]
    driver_log = (run.files_dir / "logs" / "driver.log").read_text()
    assert "mini-batch 2: run() timed out after 3 s" in driver_log
    assert "mini-batch 2 worker" in (step.files_dir / "logs" / "mini_batches.log").read_text()


def test_timeout_on_every_try_fails_the_mini_batch(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    entry = script("hang.py", _HANGS_ONCE.format(marker=str(tmp_path / "hung"), always=True))
    run = _submit(bws, entry, files(6), run_invocation_timeout=2, run_max_try=1)
    with pytest.raises(BatchFailed, match=r"f0004.txt.*timed out"):
        run.wait_for_completion(show_output=False)


_GATED = """
import os
import time

CALLS, GATE, RELEASE = {calls!r}, {gate!r}, {release!r}

def init():
    pass

def run(mini_batch):
    names = [os.path.basename(p) for p in mini_batch]
    with open(CALLS, "a") as f:
        f.write(names[0] + "\\n")
    if "f0030.txt" in names and not os.path.exists(RELEASE):
        open(GATE, "w").close()
        while not os.path.exists(RELEASE):  # hold the run at ~50% until the test kills it
            time.sleep(0.02)
    return [n + ":" + open(p).read() for n, p in zip(names, mini_batch)]
"""


def test_sigkilled_run_resumes_without_repeating_or_duplicating(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    calls, gate, release = tmp_path / "calls", tmp_path / "gate", tmp_path / "release"
    entry = script(
        "gated.py", _GATED.format(calls=str(calls), gate=str(gate), release=str(release))
    )
    data = files(60)
    run = _submit(bws, entry, data, run_invocation_timeout=600)
    step = run.find_step_run("step")[0]
    journal = lambda: _done_in_journal(bws)  # noqa: E731
    wait_for(lambda: gate.exists() and len(journal()) >= 5, "the run to reach the gate")

    kill_driver(int(run.get_properties()["driver_pid"]))  # SIGKILL the driver's process group
    assert run.get_status() == "Failed"  # noticed: the driver is gone
    done_before = journal()
    first_calls = calls.read_text().split()
    release.touch()

    again = _submit(bws, entry, data, run_invocation_timeout=600)
    assert again.wait_for_completion(show_output=False) == "Completed"
    summary = again.find_step_run("step")[0].get_summary()
    assert summary["reused_mini_batches"] == len(done_before)
    resumed_calls = calls.read_text().split()[len(first_calls) :]
    finished_first = {f"f{2 * i:04d}.txt" for i in done_before}
    assert not finished_first & set(resumed_calls)  # finished work was not repeated

    expected = [f"f{i:04d}.txt:{i}" for i in range(60)]
    lines = _output(again)
    assert lines == expected and len(set(lines)) == len(lines)  # same output, no duplicates
    assert step.get_status() == "Failed"


def _done_in_journal(ws: Workspace) -> set[int]:
    done: set[int] = set()
    for path in (ws.path / "batch").glob("*/journal.jsonl"):
        for line in path.read_text().splitlines()[1:]:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("status") == "done":
                done.add(entry["index"])
    return done


def test_worker_gets_step_arguments_and_entry_script_shim(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path]
) -> None:
    entry = script(
        "shim.py",
        """
        import sys
        from azureml_user.parallel_run import EntryScript

        def init():
            global tag
            tag = sys.argv[sys.argv.index("--tag") + 1]
            EntryScript().logger.info("init with %s", tag)

        def run(mini_batch):
            return [tag + ":" + EntryScript().process_name for _ in mini_batch]
        """,
    )
    step = ParallelRunStep(
        name="step",
        parallel_run_config=ParallelRunConfig(
            source_directory=str(entry.parent),
            entry_script=entry.name,
            error_threshold=0,
            output_action="append_row",
            process_count_per_node=1,
            node_count=1,
        ),
        inputs=[Dataset.File.from_files(str(files(3)))],
        output=PipelineData("out"),
        arguments=["--tag", "x1"],
    )
    run = Experiment(bws, "args").submit(Pipeline(bws, [step]))
    assert run.wait_for_completion(show_output=False) == "Completed"
    assert _output(run) == ["x1:worker-0"] * 3
    assert os.path.exists(run.find_step_run("step")[0].files_dir / "logs" / "worker-0.log")


def test_workers_lead_their_own_sessions_and_die_with_the_driver(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    """Each worker is a session of its own (autogroup then gives it a job's CPU share, see
    worker._own_session), yet no worker outlives a driver killed by SIGKILL."""
    pids = tmp_path / "pids.txt"
    entry = script(
        "session.py",
        f"""
        import os
        import time

        def init():
            with open({str(pids)!r}, "a") as f:
                f.write(f"{{os.getpid()}}\\n")

        def run(mini_batch):
            time.sleep(3600 if os.path.basename(mini_batch[0]) == "f0010.txt" else 0)
            return [str(os.getsid(0) == os.getpid()) for _ in mini_batch]
        """,
    )
    run = _submit(bws, entry, files(12), run_invocation_timeout=3600, mini_batch_size=1)
    wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2, "two workers")
    step = run.find_step_run("step")[0]
    journal = Path(json.loads((step.files_dir / "step.json").read_text())["work_dir"])
    wait_for(
        lambda: (journal / "journal.jsonl").read_text().count('"done"') >= 10, "ten mini-batches"
    )
    parts = sorted((journal / "parts").glob("*.part"))
    assert {p.read_text() for p in parts} == {"True\n"}  # every worker led its own session
    workers = [int(p) for p in pids.read_text().split()]
    os.kill(int(run.get_properties()["driver_pid"]), 9)  # the driver alone, not a group
    wait_for(lambda: not any(_alive(p) for p in workers), "workers outlived the driver")


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
