"""docs/migration.md is generated from the table; modelport.telemetry and .widgets work."""

from __future__ import annotations

from pathlib import Path

from modelport.core.workspace import Workspace
from modelport.migrate.coverage import load
from modelport.migrate.docs import render, totals
from modelport.telemetry import set_diagnostics_collection
from modelport.widgets import RunDetails
from tests.migrate.conftest import REPO

DOC = REPO / "docs" / "migration.md"


def test_migration_guide_is_generated_from_the_table() -> None:
    assert DOC.read_text() == render(), "run: python -m modelport.migrate.docs > docs/migration.md"


def test_guide_lists_every_class_and_module_of_the_table() -> None:
    text = render()
    coverage = load()
    assert all(f"### {name}\n" in text for name in coverage.classes)
    assert all(f"| `{name}" in text for name in coverage.modules)
    counts = totals(coverage)
    assert counts["names"] == counts["supported"] + counts["ignored"] + counts["unsupported"]
    assert f"{counts['names']} v1 names" in text


def test_set_diagnostics_collection_is_a_no_op(tmp_path: Path) -> None:
    assert set_diagnostics_collection(send_diagnostics=True, path=str(tmp_path / "t.json")) is None
    assert list(tmp_path.iterdir()) == []  # no telemetry file, nothing sent


def test_run_details_prints_a_text_summary(tmp_path: Path, capsys) -> None:
    from modelport.core import Experiment

    ws = Workspace.create(str(tmp_path / ".modelport"))
    run = Experiment(ws, "diabetes").start_logging()
    run.log("mse", 3.5)
    run.tag("area", "diabetes")
    run.complete()
    RunDetails(run).show()
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"Run {run.id} (diabetes): {run.status}"
    assert "metric  mse = 3.5" in out and "tag     area = diabetes" in out
    assert RunDetails(run).get_widget_data()["metrics"] == {"mse": 3.5}
