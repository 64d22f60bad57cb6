"""The modelport demo: train a model, register it, list it and download it.

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


def main(workspace_dir: str = "demo-workspace") -> None:
    shutil.rmtree(workspace_dir, ignore_errors=True)
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
    shutil.rmtree(work, ignore_errors=True)
    print("demo finished")


if __name__ == "__main__":
    main(*sys.argv[1:])
