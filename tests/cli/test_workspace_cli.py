"""`modelport workspace set-registry|show-registry|clear-registry` as a user types them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.conftest import run_cli


def test_set_show_and_clear_the_registry(tmp_path: Path) -> None:
    ws = ["-w", str(tmp_path / "ws")]
    assert run_cli("workspace", "create", *ws).returncode == 0
    empty = run_cli("workspace", "show-registry", *ws)
    assert empty.returncode == 0 and "No container registry" in empty.stdout

    done = run_cli(
        "workspace",
        "set-registry",
        *ws,
        "127.0.0.1:5999/team/",
        "--username",
        "alice",
        "--password-stdin",
        input_text="s3cret pass\n",
    )
    assert done.returncode == 0, done.stderr
    assert "127.0.0.1:5999/team as alice" in done.stdout
    stored = tmp_path / "ws" / "containers.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert json.loads(stored.read_text())["registry"] == {
        "address": "127.0.0.1:5999/team",
        "username": "alice",
        "password": "s3cret pass",  # the whole line, inner space kept, newline dropped
    }
    shown = run_cli("workspace", "show-registry", *ws, "-o", "json")
    assert json.loads(shown.stdout) == {
        "address": "127.0.0.1:5999/team",
        "username": "alice",
        "password": "***",
    }
    assert "s3cret" not in run_cli("workspace", "show-registry", *ws).stdout

    cleared = run_cli("workspace", "clear-registry", *ws)
    assert cleared.returncode == 0
    assert json.loads(run_cli("workspace", "show-registry", *ws, "-o", "json").stdout) == {
        "address": None,
        "username": None,
        "password": None,
    }
    assert "s3cret" not in stored.read_text()


def test_registry_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    ws = ["-w", str(tmp_path / "ws")]
    run_cli("workspace", "create", *ws)
    cases = [
        (["http://127.0.0.1:5000"], "", "no scheme"),
        (["127.0.0.1:5000", "--username", "u"], "", "password on standard input"),
        (["127.0.0.1:5000", "--password-stdin"], "pw\n", "needs --username"),
        (["127.0.0.1:5000", "--username", "u", "--password-stdin"], "\n", "empty password"),
    ]
    for args, stdin, message in cases:
        result = run_cli("workspace", "set-registry", *ws, *args, input_text=stdin)
        assert result.returncode != 0, args
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "ws" / "containers.json").exists()
