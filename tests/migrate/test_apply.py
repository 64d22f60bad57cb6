"""`migrate apply`: imports rewritten in place, layout kept, notebooks valid, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

from modelport.migrate.report import apply, check


def test_apply_rewrites_only_import_module_names(tmp_path: Path) -> None:
    path = tmp_path / "v1.py"
    path.write_text(
        "import os\n"
        "from azureml.core.webservice import (  # keep me\n"
        "    AciWebservice as Aci,\n"
        "    Webservice,\n"
        ")\n"
        "import azureml.core as aml, json\n"
        "from azureml.train.hyperdrive import HyperDriveConfig\n"
        "import azureml.core\n"
        "x = 'from azureml.core import Model'\n"
    )
    [change] = apply([str(path)], dry_run=False)
    assert path.read_text() == (
        "import os\n"
        "from modelport.core.webservice import (  # keep me\n"
        "    AciWebservice as Aci,\n"
        "    Webservice,\n"
        ")\n"
        "import modelport.core as aml, json\n"
        "from azureml.train.hyperdrive import HyperDriveConfig\n"
        "import modelport.core\n"
        "x = 'from azureml.core import Model'\n"
    )
    assert change.edits == 3
    assert {k.module for _, k in change.kept} == {"azureml.train.hyperdrive"}


V1_BARE = """\
import azureml.core
from azureml import core as c2
from azureml.core import Workspace

print("SDK", azureml.core.VERSION)
ws = azureml.core.Workspace.from_config()
env = azureml.core.Environment(name="e")
cfg = azureml.core.webservice.LocalWebservice.deploy_configuration(port=8890)
same = azureml.core is c2 and Workspace is azureml.core.Workspace
"""


def test_a_bare_azureml_core_import_and_its_attribute_uses_are_renamed(tmp_path: Path) -> None:
    path = tmp_path / "bare.py"
    path.write_text(V1_BARE)
    [change] = apply([str(path)], dry_run=False)
    ported = path.read_text()
    assert ported == (
        V1_BARE.replace("import azureml.core\n", "import modelport.core\n")
        .replace("from azureml import core", "from modelport import core")
        .replace("from azureml.core import", "from modelport.core import")
        .replace("azureml.core.", "modelport.core.")
        .replace("azureml.core is", "modelport.core is")
    )
    assert "azureml" not in ported and change.kept == []
    # the ported file runs: every renamed attribute exists under modelport
    namespace: dict[str, object] = {}
    code = ported.replace("ws = modelport.core.Workspace.from_config()", "ws = None")
    exec(compile(code, str(path), "exec"), namespace)
    assert namespace["same"] is True
    assert check([str(path)]).uses == []


def test_a_bare_import_stays_when_azureml_is_used_outside_the_ported_modules(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.py"
    source = "import azureml.core\nimport azureml.train\nx = azureml.train.hyperdrive\n"
    path.write_text(source)
    [change] = apply([str(path)], dry_run=False)
    assert path.read_text() == source  # renaming half of the `azureml` uses would break it
    [(_, kept)] = [k for k in change.kept if k[1].module == "azureml.core"]
    assert "`azureml.train.hyperdrive` (line 3)" in kept.why


def test_a_bare_import_in_a_notebook_is_renamed_and_dry_run_shows_it(tmp_path: Path) -> None:
    cells = [
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": [
                "%matplotlib inline\n",
                "import azureml.core\n",
                "print(azureml.core.VERSION)",
            ],
        },
    ]
    path = tmp_path / "bare.ipynb"
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook, indent=1))
    [preview] = apply([str(path)], dry_run=True)
    assert '+    "import modelport.core\\n",' in preview.diff()  # the notebook's own JSON lines
    assert '+    "print(modelport.core.VERSION)"' in preview.diff()
    assert json.loads(path.read_text()) == notebook  # dry run: unchanged
    apply([str(path)], dry_run=False)
    ported = json.loads(path.read_text())
    assert ported["cells"][0]["source"] == [
        "%matplotlib inline\n",
        "import modelport.core\n",
        "print(modelport.core.VERSION)",
    ]


def test_dry_run_prints_a_diff_and_writes_nothing(samples: Path) -> None:
    script = samples / "deploy_v1.py"
    before = script.read_text()
    changes = apply([str(samples)], dry_run=True)
    assert script.read_text() == before
    diff = next(c for c in changes if c.path == str(script)).diff()
    assert "-from azureml.core.webservice import AciWebservice, Webservice\n" in diff
    assert "+from modelport.core.webservice import AciWebservice, Webservice\n" in diff


def test_apply_is_idempotent(samples: Path) -> None:
    first = apply([str(samples)], dry_run=False)
    after_first = {p: p.read_text() for p in samples.iterdir()}
    second = apply([str(samples)], dry_run=False)
    assert sum(c.edits for c in first) > 0
    assert [c for c in second if c.changed] == []
    assert {p: p.read_text() for p in samples.iterdir()} == after_first


def test_notebook_stays_valid_json_with_the_same_structure(samples: Path) -> None:
    for name, indent in (("deploy.ipynb", 1), ("train.ipynb", 2)):
        path = samples / name
        original = json.loads(path.read_text())
        apply([str(path)], dry_run=False)
        text = path.read_text()
        ported = json.loads(text)
        assert text.splitlines()[1].startswith(" " * indent + '"')  # the file's own indentation
        assert len(ported["cells"]) == len(original["cells"])
        for old, new in zip(original["cells"], ported["cells"], strict=True):
            assert old.keys() == new.keys()
            assert type(old["source"]) is type(new["source"])  # list stays list, str stays str
            if old["source"] != new["source"]:
                assert "modelport" in "".join(new["source"])
        assert ported["metadata"] == original["metadata"]


def test_notebook_edits_keep_magics_and_entry_script_cells(samples: Path) -> None:
    path = samples / "deploy.ipynb"
    apply([str(path)], dry_run=False)
    cells = json.loads(path.read_text())["cells"]
    first = "".join(cells[1]["source"])
    assert first.startswith(
        "!pip install azureml-sdk\n%matplotlib inline\nfrom modelport.core import"
    )
    assert "from azureml.core.model import Model" in "".join(cells[3]["source"])  # %%writefile


def test_after_apply_check_still_sees_the_same_calls(samples: Path) -> None:
    script = samples / "deploy_v1.py"
    apply([str(script)], dry_run=False)
    assert "Model.register" not in {u.name for u in check([str(script)]).uses}  # no azureml left
    assert "from modelport.core import Workspace, Model as M\n" in script.read_text()


def test_write_is_atomic_and_keeps_the_mode(samples: Path) -> None:
    script = samples / "deploy_v1.py"
    script.chmod(0o640)
    apply([str(samples)], dry_run=False)
    assert script.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in samples.iterdir() if p.name.startswith(".")] == []  # no temp files
