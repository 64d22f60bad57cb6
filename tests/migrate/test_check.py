"""`migrate check` on v1 code written here and in scripts/: statuses, aliases, notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.errors import InvalidArgument
from modelport.migrate.report import check
from tests.migrate.conftest import REPO, SCRIPTS


def uses_of(tmp_path: Path, source: str, name: str = "v1.py") -> dict[str, tuple[str, int]]:
    path = tmp_path / name
    path.write_text(source)
    return {u.name: (u.status, u.line) for u in check([str(path)]).uses}


def test_supported_ignored_and_unsupported_with_reasons() -> None:
    report = check([str(SCRIPTS / "deploy_v1.py")])
    by_name = {u.name: u for u in report.uses}
    assert by_name["Model.register(model_path=)"].status == "supported"
    ignored = by_name["AciWebservice.deploy_configuration(ssl_enabled=)"]
    assert (ignored.status, ignored.line) == ("ignored", 16)
    assert "locally" in ignored.why
    unsupported = by_name["Workspace.list_keys"]
    assert (unsupported.status, unsupported.line) == ("unsupported", 25)
    assert "Azure resources" in unsupported.why
    assert report.counts() == {
        "uses": len(report.uses),
        "supported": len(report.uses) - 2,
        "ignored": 1,
        "unsupported": 1,
        "not_analysed": 0,
    }
    assert not report.ok


def test_aliases_and_inferred_instances(tmp_path: Path) -> None:
    found = uses_of(
        tmp_path,
        "import azureml.core as aml\n"
        "from azureml.core.webservice import LocalWebservice as LW\n"
        "ws = aml.Workspace.from_config()\n"
        "svc = aml.Model.deploy(ws, 'x', [], deployment_config=LW.deploy_configuration(port=1))\n"
        "svc.wait_for_deployment(show_output=True)\n"
        "print(svc.state, svc.image_id)\n",
    )
    assert found["Workspace"] == ("supported", 3)  # reached through the module alias
    assert found["LocalWebservice.deploy_configuration(port=)"] == ("supported", 4)
    assert found["Webservice.wait_for_deployment(show_output=)"] == ("supported", 5)
    assert found["Webservice.state"] == ("supported", 6)
    assert found["Webservice.image_id"][0] == "unsupported"


def test_reassignment_and_parameters_stop_tracking(tmp_path: Path) -> None:
    found = uses_of(
        tmp_path,
        "from azureml.core import Workspace\n"
        "ws = Workspace.from_config()\n"
        "ws = object()\n"
        "ws.sku\n"
        "def f(Workspace):\n"
        "    return Workspace.list_keys()\n",
    )
    assert "Workspace.sku" not in found
    assert "Workspace.list_keys" not in found


def test_unknown_modules_and_names_are_unsupported_and_named(tmp_path: Path) -> None:
    report = check(
        [str(_write(tmp_path, "from azureml.foo.bar import X\nfrom azureml.core import Nope\n"))]
    )
    whys = {u.name: u.why for u in report.uses if u.status == "unsupported"}
    assert "azureml.foo.bar is not covered" in whys["azureml.foo.bar"]
    assert "no Nope in azureml.core" in whys["azureml.core.Nope"]


def test_unknown_keyword_of_a_supported_method(tmp_path: Path) -> None:
    found = uses_of(tmp_path, "from azureml.core import Model\nModel.list(None, colour='red')\n")
    assert found["Model.list(colour=)"] == ("unsupported", 2)


def test_not_v1_code_reports_nothing(tmp_path: Path) -> None:
    report = check(
        [str(_write(tmp_path, "import os\nfrom modelport.core import Model\nModel.register\n"))]
    )
    assert report.uses == []
    assert report.summary() == "0 uses, 0 supported, 0 ignored, 0 unsupported"


def test_notebooks_share_a_namespace_and_skip_magics() -> None:
    report = check([str(SCRIPTS / "deploy.ipynb")])
    located = {(u.name, u.cell, u.line) for u in report.uses}
    assert ("RunDetails.show", 4, 4) in located  # RunDetails was imported in cell 1
    assert ("Run.log", 4, 2) in located
    assert ("Model.get_model_path", 3, 7) in located  # the %%writefile score.py cell
    skipped = {(s["cell"], s["line"]) for s in report.not_analysed}
    assert skipped == {(1, 1), (1, 2), (2, 1)}  # !pip, %matplotlib, the %%bash cell
    assert report.ok


def test_indented_magic_and_broken_cell_do_not_stop_the_notebook() -> None:
    report = check([str(SCRIPTS / "train.ipynb")])
    reasons = {(s["cell"], s["why"].split(":")[0]) for s in report.not_analysed}
    assert (2, "IPython line %time") in reasons
    assert (3, "not valid Python") in reasons
    unsupported = {u.name for u in report.uses if u.status == "unsupported"}
    assert "azureml.train.hyperdrive" in unsupported
    assert "azureml.core.ScriptRunConfig" not in unsupported  # runs locally now
    supported = {u.name for u in report.uses if u.status == "supported"}
    assert {"azureml.core.compute", "ComputeTarget", "AmlCompute"} <= supported


def test_entry_scripts_see_the_service_stand_ins(tmp_path: Path) -> None:
    body = "from azureml.core.run import Run\n{}\nRun.get_context().log('a', 1)\n"
    entry = uses_of(tmp_path, body.format("def init(): pass\ndef run(d): return d"), "score.py")
    plain = uses_of(tmp_path, body.format(""), "notebook_like.py")
    assert entry["Run.get_context"][0] == "supported"
    assert plain["Run.get_context"][0] == "supported"  # a submitted run's, or offline


def test_the_repos_own_v1_entry_scripts_are_fully_supported() -> None:
    report = check([str(REPO / "tests/scoring/scripts"), str(REPO / "tests/deploy/scripts")])
    assert len(report.files) >= 20
    assert report.uses, "the entry scripts import azureml names"
    assert [u for u in report.uses if u.status != "supported"] == []


def test_missing_path_and_wrong_suffix_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no such file"):
        check([str(tmp_path / "nope.py")])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InvalidArgument, match=r"not a \.py or \.ipynb"):
        check([str(tmp_path / "notes.txt")])
    (tmp_path / "bad.ipynb").write_text("{not json")
    with pytest.raises(InvalidArgument, match="not a readable notebook"):
        check([str(tmp_path / "bad.ipynb")])


def _write(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "v1.py"
    path.write_text(source)
    return path
