"""`modelport batch run|list|show|logs` as a user types them (real subprocesses)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from modelport.workspace import Workspace
from tests.batch.conftest import FILE_SCRIPT
from tests.conftest import run_cli


def test_run_list_show_logs(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    entry = script("score.py", FILE_SCRIPT)
    w = ["-w", str(bws.path)]
    done = run_cli(
        "batch", "run", *w, "--entry-script", str(entry), "--input", str(files(7) / "*.txt"),
        "--output", str(tmp_path / "out"), "--mini-batch-size", "2", "--error-threshold", "5",
        "--workers", "2", "--", "--mult", "5",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "completed: 7 files, 0 failed" in done.stdout
    result = (tmp_path / "out" / "parallel_run_step.txt").read_text().splitlines()
    assert result == [f"f{i:04d}.txt:{i * 5}" for i in range(7)]

    listed = json.loads(run_cli("batch", "list", *w, "-o", "json").stdout)
    assert [(r["status"], r["items"], r["failed"]) for r in listed] == [("Completed", 7, 0)]
    run_id = listed[0]["id"]
    shown = json.loads(run_cli("batch", "show", *w, run_id, "-o", "json").stdout)
    assert shown["status"] == "Completed" and shown["mini_batches"] == 4
    assert "100%" in shown["progress"]
    assert "Completed" in run_cli("batch", "logs", *w, run_id).stdout
    assert run_cli("batch", "logs", *w, run_id, "--mini-batches").stdout.count(" done ") == 4

    # the same command again reuses every finished mini-batch
    again = run_cli(
        "batch", "run", *w, "--entry-script", str(entry), "--input", str(tmp_path / "data" / "*.txt"),
        "--mini-batch-size", "2", "--error-threshold", "5", "--", "--mult", "5",
    )  # fmt: skip
    assert again.returncode == 0 and "4 of 4 mini-batches reused" in again.stdout


def test_online_script_sends_each_file_and_row_through_run(
    bws: Workspace, script: Callable[[str, str], Path], tmp_path: Path
) -> None:
    entry = script(
        "score.py",
        """
        import json

        def init():
            global offset
            offset = 100

        def run(raw_data):
            data = json.loads(raw_data)["data"]
            return [sum(row) + offset for row in data]
        """,
    )
    bodies = tmp_path / "bodies"
    bodies.mkdir()
    for i in range(5):
        (bodies / f"r{i}.json").write_text(json.dumps({"data": [[i, i]]}))
    table = tmp_path / "rows.csv"
    table.write_text("a,b,c\n" + "".join(f"{i},{i},{i}\n" for i in range(6)))
    w = ["-w", str(bws.path)]
    by_file = run_cli(
        "batch", "run", *w, "--online-script", str(entry), "--input", str(bodies),
        "--output", str(tmp_path / "o1"), "--error-threshold", "0",
    )  # fmt: skip
    assert by_file.returncode == 0, by_file.stderr
    assert (tmp_path / "o1" / "parallel_run_step.txt").read_text().split("\n")[:5] == [
        f"[{2 * i + 100}]" for i in range(5)
    ]
    by_row = run_cli(
        "batch", "run", *w, "--online-script", str(entry), "--input", str(table),
        "--output", str(tmp_path / "o2"), "--error-threshold", "0",
    )  # fmt: skip
    assert by_row.returncode == 0, by_row.stderr
    assert (tmp_path / "o2" / "parallel_run_step.txt").read_text().splitlines() == [
        f"[{3 * i + 100}]" for i in range(6)
    ]


def test_failed_run_exits_1_naming_inputs(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path]
) -> None:
    entry = script("empty.py", "def init():\n    pass\n\ndef run(mini_batch):\n    return []\n")
    failed = run_cli(
        "batch", "run", "-w", str(bws.path), "--entry-script", str(entry),
        "--input", str(files(4)), "--error-threshold", "1", "--workers", "1",
    )  # fmt: skip
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Batch run ") and "error_threshold 1 exceeded" in last
    assert "f0000.txt" in last and "Traceback" not in failed.stderr


def test_init_failure_fails_the_run_naming_the_script(
    bws: Workspace, files: Callable[..., Path], script: Callable[[str, str], Path]
) -> None:
    entry = script(
        "broken.py",
        "def init():\n    raise RuntimeError('no model here')\n\ndef run(mb):\n    return mb\n",
    )
    failed = run_cli(
        "batch", "run", "-w", str(bws.path), "--entry-script", str(entry), "--input", str(files(2)),
    )  # fmt: skip
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert "init() failed" in last and "broken.py: RuntimeError: no model here" in last


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--entry-script", "{tmp}/missing.py", "--input", "{data}"], "does not exist"),
        (["--entry-script", "{tmp}/scripts/norun.py", "--input", "{data}"], "does not define a run()"),
        (["--online-script", "{tmp}/scripts/noinit.py", "--input", "{data}"], "does not define a init()"),
        (["--entry-script", "{tmp}/scripts/ok.py", "--input", "{tmp}/emptydir"], "holds no files"),
        (["--entry-script", "{tmp}/scripts/ok.py", "--input", "{tmp}/*.png"], "matches no files"),
        (["--entry-script", "{tmp}/scripts/ok.py", "--input", "{data}", "--mini-batch-size", "1MB"], "not a number of files"),
        (["--entry-script", "{tmp}/scripts/ok.py", "--input", "{tmp}/t.csv", "--mini-batch-size", "lots"], "is not a size"),
        (["--entry-script", "{tmp}/scripts/ok.py", "--online-script", "{tmp}/scripts/ok.py", "--input", "{data}"], "exactly one"),
    ],
)  # fmt: skip
def test_user_mistakes_are_one_line_exit_2(
    bws: Workspace,
    files: Callable[..., Path],
    script: Callable[[str, str], Path],
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    data = files(2)
    script("ok.py", FILE_SCRIPT)
    script("norun.py", "def init():\n    pass\n")
    script("noinit.py", "def run(data):\n    return data\n")
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "t.csv").write_text("a\n1\n")
    argv = [a.format(tmp=tmp_path, data=data) for a in args]
    result = run_cli("batch", "run", "-w", str(bws.path), *argv)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
