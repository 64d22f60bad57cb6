"""Registering models from training runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.core import Experiment, Model, Workspace
from modelport.errors import InvalidArgument, NotFound


def test_register_from_a_run_links_the_version_to_it(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_file: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    run = Experiment(ws, "diabetes").start_logging()
    run.log("alpha", 0.1)
    run.log("mse", 3400.5)
    Path("outputs").mkdir()
    Path("outputs/sklearn_mnist_model.pkl").write_bytes(model_file.read_bytes())
    run.upload_file("logs/notes.txt", str(model_file))
    run.complete()

    assert run.status == "Completed"
    assert run.get_metrics() == {"alpha": 0.1, "mse": 3400.5}
    assert "outputs/sklearn_mnist_model.pkl" in run.get_file_names()
    model = run.register_model(
        model_name="sklearn_mnist", model_path="outputs/sklearn_mnist_model.pkl"
    )
    print(model.name, model.id, model.version, sep="\t")
    assert (model.id, model.run_id, model.experiment_name) == (
        "sklearn_mnist:1",
        run.id,
        "diabetes",
    )
    assert [m.id for m in Model.list(ws, run_id=run.id)] == ["sklearn_mnist:1"]


def test_a_parent_run_registers_its_best_child(ws: Workspace, tmp_path: Path) -> None:
    parent = Experiment(ws, "automl").start_logging(outputs=None)
    for accuracy in (0.7, 0.93, 0.8):
        child = parent.child_run()
        child.log("accuracy", accuracy)
        child.log("loss", 1 - accuracy)
        weights = tmp_path / f"model_{accuracy}.pkl"
        weights.write_text(str(accuracy))
        child.upload_file("outputs/model.pkl", str(weights))
        child.complete()
    parent.complete()

    best = parent.register_model(
        model_name="best", model_path="outputs/model.pkl", metric="accuracy"
    )
    assert Path(best.download(tmp_path / "dl")).read_text() == "0.93"
    lowest_loss = parent.register_model(
        model_name="low", model_path="outputs/model.pkl", metric="loss"
    )
    assert lowest_loss.run_id == best.run_id
    with pytest.raises(InvalidArgument, match="pass metric"):
        parent.register_model(description="My AutoML Model")


def test_registering_a_missing_run_file_names_what_exists(ws: Workspace) -> None:
    run = Experiment(ws, "e").start_logging(outputs=None)
    with pytest.raises(NotFound, match=r"no file or folder 'outputs/model\.pkl'"):
        run.register_model("m", model_path="outputs/model.pkl")
