"""What `modelport model deploy` and `service …` print: each deploy log line once, warnings as
one `warning:` line, and user mistakes with exit code 2."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from modelport.core import Model, Workspace
from modelport.core.model import InferenceConfig
from modelport.core.webservice import LocalWebservice, WebserviceException
from modelport.environments import Environment
from modelport.errors import InvalidArgument
from tests.conftest import run_cli

ECHO = Path(__file__).parents[1] / "deploy" / "scripts" / "echo.py"


def test_deploy_prints_each_log_line_once_and_token_on_a_key_service_is_exit_2(
    service_ws: Workspace, tmp_path: Path
) -> None:
    (tmp_path / "echo.py").write_text(ECHO.read_text())
    (tmp_path / "ic.json").write_text(json.dumps({"entryScript": "echo.py"}))
    (tmp_path / "dc.json").write_text(json.dumps({"workers": 1, "authEnabled": True}))
    ws_flag = ["-w", str(service_ws.path)]
    done = run_cli(
        "model", "deploy", *ws_flag, "-n", "once", "--ic", str(tmp_path / "ic.json"),
        "--dc", str(tmp_path / "dc.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    repeated = {line: n for line, n in Counter(lines).items() if n > 1}
    assert repeated == {}, done.stdout
    assert sum("[deploy] app folder ready" in line for line in lines) == 1
    assert lines[-1].startswith("Service 'once' is Healthy at http://")

    token = run_cli("service", "token", *ws_flag, "once")
    assert token.returncode == 2, token.stderr
    assert token.stderr.splitlines() == [
        "error: Token auth is not enabled on service 'once'. Deploy or update it with "
        "token_auth_enabled=True (tokenAuthEnabled in the config file)."
    ]
    assert run_cli("service", "keys", *ws_flag, "once").returncode == 0


def test_the_sdk_prints_each_log_line_once_too(
    service_ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    config = InferenceConfig(entry_script=str(ECHO), environment=Environment.current())
    service = Model.deploy(
        service_ws, "sdk-once", [], config, LocalWebservice.deploy_configuration(workers=1),
        show_output=True,
    )  # fmt: skip
    service.wait_for_deployment(show_output=True)
    lines = [line for line in capsys.readouterr().out.splitlines() if "[deploy]" in line]
    assert lines and len(lines) == len(set(lines))
    with pytest.raises(WebserviceException) as caught:  # v1 code catches this
        service.get_token()
    assert isinstance(caught.value, InvalidArgument) and caught.value.exit_code == 2
    with pytest.raises(InvalidArgument, match="Key auth is not enabled"):
        service.get_keys()


def test_warnings_print_as_one_line_each_without_their_source(tmp_path: Path) -> None:
    (tmp_path / "dc.json").write_text(json.dumps({"prot": 8890, "port": "abc"}))
    (tmp_path / "ic.json").write_text(json.dumps({"entryScript": "echo.py"}))
    (tmp_path / "echo.py").write_text(ECHO.read_text())
    assert run_cli("workspace", "create", cwd=tmp_path).returncode == 0
    done = run_cli(
        "model", "deploy", "-n", "warned", "--ic", "ic.json", "--dc", "dc.json", cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "warning: dc.json: ignoring unknown deployment config key 'prot'.",
        "error: dc.json: port='abc' is not valid: must be an integer from 1 to 65535.",
    ]
