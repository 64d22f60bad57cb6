"""Scripts that must not start: one line on stderr naming file, function and error; exit 2."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from .conftest import start_failing


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("init_fails.py", ["init_fails.py", "init()", "RuntimeError", "cannot load the model"]),
        ("no_init.py", ["no_init.py", "init()"]),
        ("varargs_run.py", ["varargs_run.py", "run()", "*args"]),
        ("both_decorators.py", ["both_decorators.py", "@rawhttp", "@input_schema"]),
    ],
)
def test_bad_scripts_refuse_to_start(app_root, script, expected):
    began = time.monotonic()
    done = start_failing(app_root, script)
    assert time.monotonic() - began < 25
    assert done.returncode == 2
    lines = [line for line in done.stderr.decode().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done.stderr.decode()
    for word in expected:
        assert word in lines[0]
    assert "Traceback (most recent call last)" not in "\n".join(
        line for line in done.stderr.decode().splitlines() if not line.startswith("{")
    )


def test_cli_serve_reports_init_failure(app_root):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelport.cli.main",
            "serve",
            "--entry-script",
            "init_fails.py",
            "--app-root",
            str(app_root),
            "--port",
            "0",
            "--workers",
            "1",
        ],
        cwd=app_root,
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert (
        "error: " in done.stderr.decode() and "init() raised RuntimeError" in done.stderr.decode()
    )


def test_missing_entry_script_is_a_usage_error(app_root):
    done = start_failing(app_root, "does_not_exist.py")
    assert done.returncode == 2 and b"does not exist" in done.stderr


def test_help_imports_nothing_heavy():
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "modelport.cli.main", "--help"],
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 0
    imported = done.stderr.decode()
    for heavy in ("uvicorn", "numpy", "orjson", "werkzeug"):
        assert f" {heavy}\n" not in imported and f" {heavy}." not in imported
    assert (
        subprocess.run(
            [sys.executable, "-m", "modelport.scoring", "--help"], capture_output=True, timeout=30
        ).returncode
        == 0
    )
