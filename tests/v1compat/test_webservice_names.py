"""v1's remaining Webservice names on real local services (and the packaging side of v1's
environment names: its default base images and base_dockerfile)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport._ignored import IgnoredWarning
from modelport.core import Model, Workspace
from modelport.core.environment import DEFAULT_CPU_IMAGE, Environment
from modelport.core.image import ContainerImage
from modelport.core.model import InferenceConfig
from modelport.core.webservice import LocalWebservice, Webservice, WebserviceException
from modelport.errors import InvalidArgument
from modelport.packaging import dockerfile
from tests.conftest import SEED_SCORE

ECHO = "def init():\n    pass\n\ndef run(raw):\n    return {'got': raw}\n"


@pytest.fixture
def ridge(service_ws: Workspace, model_file: Path) -> Model:
    return Model.register(service_ws, model_file, "sklearn_regression_model")


def test_webservice_helpers_on_a_local_service(
    service_ws: Workspace, ridge: Model, tmp_path: Path, model_file: Path
) -> None:
    script = tmp_path / "echo.py"
    script.write_text(ECHO)
    image_config = ContainerImage.image_configuration(
        execution_script=str(script), runtime="python"
    )
    service = Webservice.deploy_local_from_model(
        service_ws,
        "helpers",
        [ridge],
        image_config,
        LocalWebservice.deploy_configuration(token_auth_enabled=True),
        wait=True,
    )
    assert service.state == LocalWebservice.STATE_RUNNING
    with pytest.raises(WebserviceException, match="already exists"):
        Webservice.check_for_existing_webservice(service_ws, "helpers")
    assert Webservice.deserialize(service_ws, service.serialize()).name == "helpers"
    assert [s.name for s in Webservice.list(service_ws, model_name=ridge.name)] == ["helpers"]
    assert Webservice.list(service_ws, model_id="other:1") == []
    with pytest.warns(IgnoredWarning, match="image"):
        Webservice.list(service_ws, image_name="img")
    service.add_properties({"owner": "me"})
    service.add_properties({"owner": "you"})  # v1: an existing property keeps its value
    service.add_tags({"a": "1", "b": "2"})
    service.remove_tags(["b"])
    again = Webservice(service_ws, "helpers")
    assert (again.properties, again.tags) == ({"owner": "me"}, {"a": "1"})
    token = again.get_access_token()
    assert token.token_type == "Bearer" and token.access_token and token.refresh_by
    assert again.run("hi") == {"got": "hi"}
    revision = again._doc["revision"]
    again.update_deployment_state()
    assert again._doc["revision"] == revision  # tags and properties made no new revision

    # update() with v1's image_config keyword rolls out the new script.
    script.write_text(ECHO.replace("'got'", "'now'"))
    again.update(image_config=image_config)
    assert again.run("hi") == {"now": "hi"}
    with pytest.warns(IgnoredWarning, match="no Docker cache"):
        again.delete(delete_cache=False)
    Webservice.check_for_existing_webservice(service_ws, "helpers")  # gone: no error


def test_webservice_deploy_registers_model_paths(
    service_ws: Workspace, model_file: Path, tmp_path: Path
) -> None:
    config = InferenceConfig(entry_script=str(SEED_SCORE), environment=Environment.current())
    service = Webservice.deploy(
        service_ws, "from-paths", [str(model_file)], config, LocalWebservice.deploy_configuration()
    )
    service.wait_for_deployment()
    assert [m.name for m in service.models] == ["sklearn_regression_model"]
    with pytest.raises(InvalidArgument, match="InferenceConfig"):
        Webservice.deploy_from_model(service_ws, "bad", service.models, object())


def test_packaging_maps_v1_base_images_and_uses_base_dockerfile(
    service_ws: Workspace, ridge: Model
) -> None:
    env = Environment.current()
    env.docker.base_image = DEFAULT_CPU_IMAGE  # what v1 notebooks set
    config = InferenceConfig(entry_script=str(SEED_SCORE), environment=env)
    package = Model.package(service_ws, [ridge], config, generate_dockerfile=True)
    package.wait_for_creation()
    text = (package.context_path / "Dockerfile").read_text()
    assert f"FROM {dockerfile.default_base_image()}" in text
    assert "one of v1's Azure ML base images" in package.get_logs()

    env.docker.base_dockerfile = "FROM python:3.12-slim AS base\nRUN echo custom-base\n"
    package = Model.package(service_ws, [ridge], config, generate_dockerfile=True)
    package.wait_for_creation()
    lines = (package.context_path / "Dockerfile").read_text().splitlines()
    assert "FROM python:3.12-slim AS base" in lines and "RUN echo custom-base" in lines
    assert not any(line.startswith(f"FROM {dockerfile.default_base_image()}") for line in lines)

    env.docker.base_dockerfile = "RUN echo no-from\n"
    with pytest.raises(InvalidArgument, match="no FROM line"):
        Model.package(service_ws, [ridge], config, generate_dockerfile=True)
