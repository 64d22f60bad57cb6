"""The scoring server checks its settings at start: a bad flag, environment variable or keys
file is one `error:` line naming where the value came from, exit code 2, no traceback."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelport.errors import InvalidArgument
from modelport.scoring import config as server_config
from modelport.scoring.config import ServerConfig

ECHO = Path(__file__).parents[1] / "deploy" / "scripts" / "echo.py"


def _start(tmp_path: Path, *args: str, env: dict[str, str] | None = None, cli: bool = False):
    (tmp_path / "echo.py").write_text(ECHO.read_text())
    command = ["modelport.cli.main", "serve"] if cli else ["modelport.scoring"]
    return subprocess.run(
        [sys.executable, "-m", *command, "--entry-script", "echo.py", "--workers", "1", *args],
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=20,  # a refused start takes about a second
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SCORING_TIMEOUT_MS": "fast"},
            "SCORING_TIMEOUT_MS='fast' is not valid: must be a positive integer.",
        ),
        (
            {"SCORING_TIMEOUT_MS": "-5"},
            "SCORING_TIMEOUT_MS=-5 is not valid: must be a positive integer.",
        ),
        (
            {"MAX_REQUEST_WAIT_TIME": "soon"},
            "MAX_REQUEST_WAIT_TIME='soon' is not valid: must be an integer.",
        ),
        (
            {"MAX_CONCURRENT_REQUESTS_PER_CONTAINER": "1.5"},
            "MAX_CONCURRENT_REQUESTS_PER_CONTAINER='1.5' is not valid",
        ),
    ],
)
def test_a_bad_environment_variable_is_one_line(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    done = _start(tmp_path, "--port", "0", env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), done.stderr


def test_a_bad_worker_count_names_the_variable_it_came_from(tmp_path: Path) -> None:
    env = {"WORKER_COUNT": "0"}
    (tmp_path / "echo.py").write_text(ECHO.read_text())
    done = subprocess.run(
        [sys.executable, "-m", "modelport.scoring", "--entry-script", "echo.py", "--port", "0"],
        cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: WORKER_COUNT=0 is not valid: must be an integer of at least 1."
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "is not valid JSON"),
        ("[1, 2]", 'must hold a JSON object {"primary": ..., "secondary": ...}.'),
        ('{"primary": "a"}', ": secondary=None is not valid: must be a non-empty string."),
        ('{"primary": "a", "secondary": ""}', ": secondary='' is not valid"),
        (
            '{"primary": 5, "secondary": "b"}',
            ": primary=5 is not valid: must be a non-empty string.",
        ),
        ('{"primay": "a", "secondary": "b"}', "has unknown key(s) primay"),
        ("", "is not valid JSON"),
    ],
)
@pytest.mark.parametrize("cli", [False, True], ids=["python-m", "modelport-serve"])
def test_a_malformed_keys_file_is_an_error_at_start(
    tmp_path: Path, text: str, message: str, cli: bool
) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(text)
    done = _start(tmp_path, "--port", "0", "--auth-keys-file", str(keys), cli=cli)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: Keys file {keys}"), done.stderr
    assert message in lines[0]


def test_an_empty_token_secret_and_a_port_out_of_range_are_errors_at_start(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("\n")
    done = _start(tmp_path, "--port", "0", "--token-secret-file", str(secret))
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [f"error: Token secret file {secret} is empty."],
    )
    done = _start(tmp_path, "--port", "70000")
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            "error: --port=70000 is not valid: must be an integer from 0 to 65535 (0 picks a free port)."
        ],
    )


def test_server_config_values_are_checked_whatever_builds_them(tmp_path: Path) -> None:
    script = tmp_path / "echo.py"
    script.write_text(ECHO.read_text())
    good = ServerConfig(entry_script=str(script), workers=1)
    assert good.resolved().workers == 1
    for field, value, words in [
        ("port", "abc", "port='abc' is not valid: must be an integer from 0 to 65535"),
        ("port", 1.5, "port=1.5 is not valid"),
        ("workers", True, "workers=True is not valid: must be an integer of at least 1"),
        ("scoring_timeout_ms", "fast", "scoring_timeout_ms='fast' is not valid"),
        ("host", "", "host='' is not valid: must be a non-empty string"),
        ("extra_env", {"A": 1}, "extra_env={'A': 1} is not valid"),
        ("access_log", "yes", "access_log='yes' is not valid: must be true or false"),
    ]:
        with pytest.raises(InvalidArgument) as caught:
            dataclasses.replace(good, **{field: value}).resolved()
        assert str(caught.value).startswith(words)


def test_every_server_setting_has_a_rule_and_the_server_needs_no_pydantic() -> None:
    assert set(server_config._FIELDS) == {f.name for f in dataclasses.fields(ServerConfig)}
    code = (
        "import sys, modelport.scoring, modelport.scoring.config, modelport.scoring.auth, "
        "modelport.scoring._cli, modelport.scoring.__main__\n"
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
