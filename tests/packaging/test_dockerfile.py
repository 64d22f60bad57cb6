"""The Dockerfile renderer on its own: layout, ordering, quoting."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidArgument
from modelport.packaging.dockerfile import DockerfileSpec, environment_lines, render


def _spec(**changes: object) -> DockerfileSpec:
    values: dict[str, object] = {
        "base_image": "python:3.11-slim",
        "entry_script": "score.py",
        "wheel": "wheels/modelport-0.1.0-py3-none-any.whl",
        "model_dir": "/var/azureml-app/azureml-models/m/1",
    }
    values.update(changes)
    return DockerfileSpec(**values)  # type: ignore[arg-type]


def test_layers_go_from_slowest_to_fastest_changing() -> None:
    """Third-party packages, extra steps, the modelport runtime, models, app, settings: an
    edit to modelport rebuilds only the small runtime layer and what follows it, an edit to
    the script the last two, another entry script in the same folder only the last."""
    lines = render(_spec(extra_steps="RUN apt-get update\n")).splitlines()
    wheel = "/opt/modelport/modelport-0.1.0-py3-none-any.whl"
    order = [
        "COPY requirements.txt /opt/modelport/requirements.txt",
        "RUN python3 -m venv /opt/venv && /opt/venv/bin/python -m pip install -r "
        "/opt/modelport/requirements.txt",
        "RUN apt-get update",
        f"COPY wheels/modelport-0.1.0-py3-none-any.whl {wheel}",
        f"RUN /opt/venv/bin/python -m pip install --no-deps {wheel}",
        'CMD ["python", "-m", "modelport.scoring", "--host", "0.0.0.0", "--port", "5001"]',
        "COPY azureml-models/ /var/azureml-app/azureml-models/",
        "COPY app/ /var/azureml-app/",
    ]
    positions = [lines.index(line) for line in order]
    assert lines[0].startswith("FROM ") and positions == sorted(positions)
    assert lines[-3:] == [  # the settings: one instruction, last
        'ENV AML_APP_ROOT="/var/azureml-app" \\',
        '    AZUREML_ENTRY_SCRIPT="score.py" \\',
        '    AZUREML_MODEL_DIR="/var/azureml-app/azureml-models/m/1"',
    ]
    assert sum("wheels/" in line or ".whl" in line for line in lines) == 2  # only the runtime's
    # the environment image's Dockerfile is this one's first lines, so its layers are shared
    part = "\n".join(environment_lines("python:3.11-slim"))
    assert render(_spec()).startswith(part + "\n")
    with_header = render(_spec(header=("a comment",))).splitlines()
    assert with_header[0] == "# a comment" and with_header[1:].index("FROM python:3.11-slim") == 0


def test_without_models_or_wheel_nothing_refers_to_them() -> None:
    text = render(_spec(model_dir=None, wheel=None))
    assert "azureml-models" not in text and "AZUREML_MODEL_DIR" not in text
    assert "wheels/" not in text
    lines = text.splitlines()
    env = lines.index(
        "RUN python3 -m venv /opt/venv && /opt/venv/bin/python -m pip install -r "
        "/opt/modelport/requirements.txt"
    )
    runtime = lines.index('RUN /opt/venv/bin/python -m pip install "modelport==0.1.0"')
    assert env < runtime < lines.index("COPY app/ /var/azureml-app/")


def test_environment_values_are_quoted_so_they_arrive_unchanged() -> None:
    text = render(_spec(environment={"GREETING": 'say "hi" $HOME \\o/'}))
    assert 'ENV GREETING="say \\"hi\\" \\$HOME \\\\o/"' in text


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("BAD-NAME", "x", "cannot be set"), ("OK", "two\nlines", "line break")],
)
def test_environment_a_dockerfile_cannot_hold_is_refused(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        render(_spec(environment={name: value}))
