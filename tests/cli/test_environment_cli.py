"""`modelport environment` as a user types it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_register_list_show_and_errors(tmp_path: Path) -> None:
    ws = ["-w", str(tmp_path / "ws")]
    assert run_cli("workspace", "create", *ws).returncode == 0
    (tmp_path / "requirements.txt").write_text("six\n")
    (tmp_path / "env.yml").write_text(
        "name: e\ndependencies:\n  - numpy=1.26\n  - pip:\n    - idna\n"
    )
    reg = run_cli(
        "environment",
        "register",
        *ws,
        "-n",
        "myenv",
        "--pip-requirements",
        str(tmp_path / "requirements.txt"),
    )
    assert reg.returncode == 0 and "myenv:1" in reg.stdout
    run_cli(
        "environment", "register", *ws, "-n", "myenv", "--conda-file", str(tmp_path / "env.yml")
    )
    listed = json.loads(run_cli("environment", "list", *ws, "-o", "json").stdout)
    assert [(e["name"], e["version"]) for e in listed] == [("myenv", 2), ("myenv", 1)]
    shown = json.loads(run_cli("environment", "show", *ws, "myenv:1", "-o", "json").stdout)
    assert shown["pip_packages"] == ["six"]
    both = run_cli("environment", "register", *ws, "-n", "x")
    assert both.returncode == 2 and "exactly one" in both.stderr
    missing = run_cli("environment", "show", *ws, "nope")
    assert missing.returncode == 2 and "not registered" in missing.stderr
