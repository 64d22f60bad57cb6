"""The Dockerfile renderer on its own: layout, ordering, quoting."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidArgument
from modelport.packaging.dockerfile import DockerfileSpec, render


def _spec(**changes: object) -> DockerfileSpec:
    values: dict[str, object] = {
        "base_image": "python:3.11-slim",
        "entry_script": "score.py",
        "wheel": "wheels/modelport-0.1.0-py3-none-any.whl",
        "model_dir": "/var/azureml-app/azureml-models/m/1",
    }
    values.update(changes)
    return DockerfileSpec(**values)  # type: ignore[arg-type]


def test_dependencies_are_installed_before_the_app_and_models_are_copied() -> None:
    lines = render(_spec(extra_steps="RUN apt-get update\n")).splitlines()
    run = next(
        i for i, line in enumerate(lines) if line.startswith("RUN python3 -m venv /opt/venv && ")
    )
    extra = lines.index("RUN apt-get update")
    models = lines.index("COPY azureml-models/ /var/azureml-app/azureml-models/")
    assert lines[0].startswith("FROM ") and run < extra < models < lines.index(
        "COPY app/ /var/azureml-app/"
    )
    assert lines[run].endswith("/opt/modelport/modelport-0.1.0-py3-none-any.whl")
    assert lines[-2:] == [
        "EXPOSE 5001",
        'CMD ["python", "-m", "modelport.scoring", "--host", "0.0.0.0", "--port", "5001"]',
    ]


def test_without_models_or_wheel_nothing_refers_to_them() -> None:
    text = render(_spec(model_dir=None, wheel=None))
    assert "azureml-models" not in text and "AZUREML_MODEL_DIR" not in text
    assert "wheels/" not in text
    assert (
        "RUN python3 -m venv /opt/venv && /opt/venv/bin/python -m pip install -r "
        "/opt/modelport/requirements.txt\n"
    ) in text


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
