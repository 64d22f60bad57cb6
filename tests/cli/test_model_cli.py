"""`modelport workspace` and `modelport model` as a user types them (real subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert run_cli("workspace", "create", cwd=tmp_path).returncode == 0
    return tmp_path


def test_register_list_show_download_update_delete(project: Path, model_file: Path) -> None:
    reg = run_cli(
        "model",
        "register",
        "-n",
        "sklearn_mnist",
        "-p",
        str(model_file),
        "--tag",
        "area=diabetes",
        "--property",
        "acc=0.9",
        "--framework",
        "ScikitLearn",
        "-o",
        "json",
        cwd=project,
    )
    assert reg.returncode == 0, reg.stderr
    assert json.loads(reg.stdout)["id"] == "sklearn_mnist:1"

    listed = run_cli("model", "list", cwd=project)
    assert "sklearn_mnist" in listed.stdout and "area=diabetes" in listed.stdout

    shown = json.loads(run_cli("model", "show", "sklearn_mnist", "-o", "json", cwd=project).stdout)
    assert (shown["version"], shown["framework"], shown["properties"]) == (
        1,
        "ScikitLearn",
        {"acc": "0.9"},
    )

    dl = run_cli(
        "model",
        "download",
        "--model-id",
        "sklearn_mnist:1",
        "--target-dir",
        "model_folder",
        cwd=project,
    )
    assert dl.returncode == 0, dl.stderr
    assert (project / "model_folder" / model_file.name).read_bytes() == model_file.read_bytes()

    upd = run_cli(
        "model",
        "update",
        "sklearn_mnist:1",
        "-d",
        "ridge",
        "--add-tag",
        "stage=prod",
        "-o",
        "json",
        cwd=project,
    )
    assert json.loads(upd.stdout)["tags"] == {"area": "diabetes", "stage": "prod"}

    assert run_cli("model", "delete", "sklearn_mnist:1", cwd=project).returncode == 0
    assert json.loads(run_cli("model", "list", "-o", "json", cwd=project).stdout) == []


def test_workspace_flag_and_environment_variable_pick_the_workspace(
    tmp_path: Path, model_file: Path
) -> None:
    ws = tmp_path / "elsewhere"
    assert run_cli("workspace", "create", "-w", str(ws)).returncode == 0
    assert (
        run_cli("model", "register", "-w", str(ws), "-n", "m", "-p", str(model_file)).returncode
        == 0
    )
    listed = run_cli(
        "model", "list", "-o", "json", cwd=tmp_path, env={"MODELPORT_WORKSPACE": str(ws)}
    )
    assert [m["id"] for m in json.loads(listed.stdout)] == ["m:1"]
    shown = json.loads(run_cli("workspace", "show", "-w", str(ws), "-o", "json").stdout)
    assert shown["models"] == 1


def test_register_from_a_run(project: Path, model_file: Path) -> None:
    from modelport.core import Experiment, Workspace

    ws = Workspace.get(project / ".modelport")
    run = Experiment(ws, "myexperiment").start_logging(outputs=None)
    run.upload_file("outputs/sklearn_mnist_model.pkl", str(model_file))
    run.complete()
    ws.close()
    out = run_cli(
        "model",
        "register",
        "-n",
        "sklearn_mnist",
        "--asset-path",
        "outputs/sklearn_mnist_model.pkl",
        "--experiment-name",
        "myexperiment",
        "--run-id",
        run.id,
        "-o",
        "json",
        cwd=project,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["run_id"] == run.id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model", "register", "-n", "bad name", "-p", "x"], "Invalid model name"),
        (["model", "register", "-n", "m", "-p", "missing.pkl"], "does not exist"),
        (["model", "register", "-n", "m"], "Nothing to register"),
        (["model", "show", "m:notanumber"], "positive integer"),
        (["model", "show", "ghost"], "not registered"),
        (["model", "delete", "ghost"], "exact version"),
        (["model", "register", "-n", "m", "-p", "x", "--tag", "novalue"], "key=value"),
    ],
)
def test_user_mistakes_are_one_line_errors_with_exit_code_2(
    project: Path, args: list[str], message: str
) -> None:
    result = run_cli(*args, cwd=project)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_download_into_existing_files_is_refused_and_changes_nothing(
    project: Path, model_file: Path
) -> None:
    run_cli("model", "register", "-n", "m", "-p", str(model_file), cwd=project)
    target = project / "out"
    target.mkdir()
    (target / model_file.name).write_text("mine")
    result = run_cli("model", "download", "-i", "m:1", "-t", str(target), cwd=project)
    assert result.returncode == 2 and "already exists" in result.stderr
    assert (target / model_file.name).read_text() == "mine"


def test_no_workspace_says_how_to_create_one(tmp_path: Path) -> None:
    result = run_cli("model", "list", cwd=tmp_path, env={"MODELPORT_WORKSPACE": ""})
    assert result.returncode == 2
    assert "modelport workspace create" in result.stderr


def test_help_does_not_import_heavy_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom modelport.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'numpy', 'uvicorn', 'pandas', 'rich') if m in sys.modules]\n"
        "print('heavy=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "heavy="


def test_listing_and_showing_do_not_import_sqlalchemy(project: Path, model_file: Path) -> None:
    import subprocess
    import sys

    run_cli("model", "register", "-n", "m", "-p", str(model_file), cwd=project)
    code = (
        "import sys\nfrom modelport.cli.main import main\n"
        "for args in (['model', 'list'], ['model', 'show', 'm:1'], ['service', 'list']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "print('sqlalchemy=' + str('sqlalchemy' in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=project)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "sqlalchemy=False"


def test_the_fast_sqlite_reader_knows_the_schema_version() -> None:
    from modelport.registry import sql, sqlite_reads

    assert sqlite_reads.SCHEMA_VERSION == sql.SCHEMA_VERSION
