"""TLS in the scoring server (`--ssl-certfile/--ssl-keyfile`) and on local services, checked
with a client that verifies the certificate; bad TLS files are refused at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from modelport.core import InferenceConfig, Model, Workspace
from modelport.core.webservice import LocalWebservice
from modelport.errors import InvalidArgument
from tests.conftest import SEED_SCORE
from tests.scoring.conftest import SCRIPTS
from tests.tls import make_certificate, verifying_context


def _serve(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    port_file = tmp_path / "port"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_"))}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelport.scoring",
            "--entry-script",
            str(SCRIPTS / "plain_json.py"),
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--workers",
            "1",
            *args,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(proc.communicate()[1].decode()[-2000:])
        time.sleep(0.02)
    return proc, int(port_file.read_text())


def test_the_server_terminates_tls_for_a_verifying_client(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    proc, port = _serve(tmp_path, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    try:
        with httpx.Client(verify=verifying_context(cert), timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get(f"https://127.0.0.1:{port}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.05)
            assert client.get(f"https://localhost:{port}/").text == "Healthy"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{port}/", timeout=10)  # an untrusted certificate
    finally:
        proc.terminate()
        proc.communicate(timeout=40)


@pytest.mark.parametrize("problem", ["missing", "mismatch"])
def test_bad_tls_files_are_refused_at_start_up(tmp_path: Path, problem: str) -> None:
    cert, key = make_certificate(tmp_path / "a")
    if problem == "missing":
        key = tmp_path / "nowhere.key"
    else:
        _, key = make_certificate(tmp_path / "b")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelport.scoring",
            "--entry-script",
            str(SCRIPTS / "plain_json.py"),
            "--port",
            "0",
            "--ssl-certfile",
            str(cert),
            "--ssl-keyfile",
            str(key),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    expected = "does not exist" if problem == "missing" else "cannot be used together"
    assert expected in result.stderr


def test_a_local_service_with_ssl_enabled_serves_https(
    service_ws: Workspace, model_file: Path, tmp_path: Path
) -> None:
    cert, key = make_certificate(tmp_path / "tls")
    model = Model.register(service_ws, model_file, "sklearn_regression_model")
    config = LocalWebservice.deploy_configuration(
        ssl_enabled=True, ssl_cert_pem_file=str(cert), ssl_key_pem_file=str(key)
    )
    service = Model.deploy(service_ws, "secure", [model], InferenceConfig(str(SEED_SCORE)), config)
    service.wait_for_deployment()
    assert service.scoring_uri.startswith("https://127.0.0.1:")
    response = httpx.post(
        service.scoring_uri,
        json={"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]},
        verify=verifying_context(cert),
        timeout=30,
    )
    assert response.status_code == 200 and len(response.json()) == 1
    # Webservice.run() trusts the service's own (self-signed) certificate, and only it
    assert len(service.run({"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]})) == 1
    other, _ = make_certificate(tmp_path / "other")
    cert.write_bytes(other.read_bytes())  # the server keeps presenting the one it loaded
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        service.run({"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]})


def test_a_tls_config_without_its_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="ssl_cert_pem_file"):
        LocalWebservice.deploy_configuration(ssl_enabled=True)
