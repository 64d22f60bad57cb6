"""`Experiment.submit(ScriptRunConfig(...))`: a v1 training script runs in a subprocess
against the local workspace (SQLite, and PostgreSQL when MODELPORT_TEST_POSTGRES_URL is set),
logs metrics, writes outputs and registers its model."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from modelport.core import Experiment, Model, RunConfiguration, ScriptRunConfig, Workspace
from modelport.core.environment import Environment
from modelport.core.run import Run
from modelport.core.script_run_config import DRIVER_LOG, RunFailed

TRAIN = textwrap.dedent(
    """
    import argparse
    import os

    import joblib
    import numpy as np
    from sklearn.linear_model import Ridge

    from modelport.core.run import Run

    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, default=1.0)
    args = parser.parse_args()

    run = Run.get_context()
    run.log("alpha", args.alpha)
    x = np.random.default_rng(0).normal(size=(40, 3))
    model = Ridge(alpha=args.alpha).fit(x, x.sum(axis=1))
    run.log("score", float(model.score(x, x.sum(axis=1))))
    os.makedirs("outputs", exist_ok=True)
    joblib.dump(model, "outputs/model.pkl")
    with open("data/extra.txt") as f:  # the source directory is the working directory
        print("read", f.read().strip())
    print("trained with alpha", args.alpha)
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "train.py").write_text(TRAIN)
    (folder / "data" / "extra.txt").write_text("extra\n")
    return folder


def test_a_submitted_script_logs_writes_outputs_and_registers_a_model(
    ws: Workspace, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ScriptRunConfig(
        source_directory=str(project),
        script="train.py",
        arguments=["--alpha", 0.5],
        compute_target="local",
        environment=Environment.current(),  # this interpreter: modelport is importable
    )
    run = Experiment(ws, "train").submit(config)
    details = run.wait_for_completion(show_output=True)
    assert details["status"] == "Completed" and run.get_status() == "Completed"
    assert "trained with alpha 0.5" in capsys.readouterr().out
    assert run.get_metrics()["alpha"] == 0.5
    assert set(run.get_file_names()) >= {"outputs/model.pkl", DRIVER_LOG}
    run.download_file("outputs/model.pkl", str(tmp_path / "model.pkl"))
    assert (tmp_path / "model.pkl").stat().st_size > 0
    assert not (project / "outputs").exists()  # the script ran in a copy of the project
    model = run.register_model(model_name="ridge", model_path="outputs/model.pkl")
    assert model.run_id == run.id
    assert [m.version for m in Model.list(ws, "ridge")] == [1]
    assert "read extra" in (run.files_dir / DRIVER_LOG).read_text()


def test_a_run_configuration_carries_the_script_and_a_failing_script_fails_the_run(
    sqlite_ws: Workspace, project: Path
) -> None:
    (project / "broken.py").write_text("raise SystemExit('bad input file')\n")
    run_config = RunConfiguration()
    run_config.environment = Environment.current()
    run_config.target = "local"
    config = ScriptRunConfig(str(project), "broken.py", run_config=run_config)
    run = Experiment(sqlite_ws, "train").submit(config)
    with pytest.raises(RunFailed, match="bad input file"):
        run.wait_for_completion()
    assert run.get_status() == "Failed"
    again = Experiment(sqlite_ws, "train").submit(config)
    assert again.wait_for_completion(raise_on_error=False)["status"] == "Failed"


def test_outside_a_submitted_run_the_context_is_offline() -> None:
    offline = Run.get_context()
    offline.log("ignored", 1)  # v1's offline run accepts logging
    assert offline.id == "OfflineRun"


def test_a_remote_compute_target_is_accepted_with_a_warning(project: Path) -> None:
    with pytest.warns(UserWarning, match="subprocess on this machine"):
        ScriptRunConfig(str(project), "train.py", compute_target="cpu-cluster")
