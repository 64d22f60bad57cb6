"""v1's app layout inside a real container: the source directory under its own name in
/var/azureml-app, the working directory at the app root, models where v1 scripts look."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelport.core import InferenceConfig, Model, Workspace
from modelport.core.webservice import ContainerWebservice
from modelport.environments import Environment
from tests.deploy.test_v1_app_layout import EXPECTED, REQUEST, V1_SCRIPT

pytestmark = [pytest.mark.containers, pytest.mark.slow]


def test_a_container_service_follows_the_v1_layout(
    cws: Workspace, model_file: Path, seed_env: Environment, tmp_path: Path
) -> None:
    src = tmp_path / "project" / "src"
    (src / "helpers").mkdir(parents=True)
    (src / "data").mkdir()
    (src / "score.py").write_text(V1_SCRIPT)
    (src / "helpers" / "__init__.py").write_text("")
    (src / "helpers" / "scale.py").write_text("FACTOR = 2\n")
    (src / "extra.json").write_text(json.dumps({"value": "cwd"}))
    (src / "data" / "nested.txt").write_text("nested\n")
    model = Model.register(cws, model_file, "sklearn_regression")
    config = InferenceConfig(
        entry_script="score.py", source_directory=str(src), environment=seed_env
    )
    service = Model.deploy(
        cws, "layout-box", [model], config, ContainerWebservice.deploy_configuration(cpu_cores=1)
    )
    service.wait_for_deployment(show_output=True)
    assert service.state == "Healthy", service.get_logs()
    answer = service.run(REQUEST)
    assert {k: answer[k] for k in EXPECTED} == EXPECTED
