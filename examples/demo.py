"""The modelport demo: train, register, list, download, deploy locally and score.

Runs on the embedded default (a SQLite file and local artifact folder under ./demo-workspace);
no server, no Docker. Run it with `./scripts/demo`.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from modelport.core import Model, ResourceConfiguration, Workspace
from modelport.core.environment import Environment
from modelport.core.model import InferenceConfig
from modelport.core.webservice import LocalWebservice

HERE = Path(__file__).parent


def main(workspace_dir: str = "demo-workspace") -> None:
    _clean(workspace_dir)
    ws = Workspace.create(workspace_dir)
    print(f"1. workspace  {ws.name} at {ws.path}")

    x, y = load_diabetes(return_X_y=True)
    work = Path(tempfile.mkdtemp(prefix="modelport-demo-"))
    model_path = work / "sklearn_regression_model.pkl"
    joblib.dump(Ridge(alpha=0.1).fit(x, y), model_path)

    model = Model.register(
        workspace=ws,
        model_path=str(model_path),
        model_name="sklearn_regression",
        tags={"area": "diabetes", "type": "regression"},
        model_framework=Model.Framework.SCIKITLEARN,
        resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5),
        description="Ridge regression model to predict diabetes progression.",
    )
    print(f"2. registered {model.id} ({model.size} bytes)")

    for m in Model.list(ws):
        print(f"3. listed     {m.id}  tags={m.tags}")

    downloaded = Model(ws, "sklearn_regression").download(work / "download", exist_ok=True)
    restored = joblib.load(downloaded)
    sample = np.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]])
    print(f"4. downloaded {downloaded}; predictions {restored.predict(sample).round(1).tolist()}")

    inference_config = InferenceConfig(
        entry_script=str(HERE / "score.py"), environment=Environment.current()
    )
    deployment_config = LocalWebservice.deploy_configuration(workers=1, auth_enabled=True)
    service = Model.deploy(ws, "myservice", [model], inference_config, deployment_config)
    service.wait_for_deployment(show_output=True)
    print(f"5. deployed   {service.name}: {service.state} at {service.scoring_uri}")

    import httpx

    key = service.get_keys()[0]
    response = httpx.post(
        service.scoring_uri,
        json={"data": sample.tolist()},
        headers={"Authorization": f"Bearer {key}"},
    )
    print(
        f"6. scored     HTTP {response.status_code} in {response.elapsed.total_seconds() * 1000:.1f} ms: {response.json()}"
    )
    shutil.rmtree(work, ignore_errors=True)
    print(
        "demo finished; the service keeps running:\n"
        f"  curl -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n"
        f"       -d '{{\"data\": [[1,2,3,4,5,6,7,8,9,10]]}}' {service.scoring_uri}\n"
        f"  .venv/bin/modelport service list -w {workspace_dir}\n"
        f"  .venv/bin/modelport service delete myservice -w {workspace_dir}"
    )


def _clean(workspace_dir: str) -> None:
    """Stop the services a previous demo run left running, then start from an empty folder."""
    from modelport.core.webservice import Webservice

    if Path(workspace_dir, "config.json").exists():
        old = Workspace.get(workspace_dir)
        for service in Webservice.list(old):
            service.delete()
        old.close()
    shutil.rmtree(workspace_dir, ignore_errors=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
