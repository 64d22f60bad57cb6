"""Deployment benchmark (issue: local services). Run on demand: `.venv/bin/python bench/deploy.py`.

Reports
- first deploy of a sklearn model with a fresh environment (an empty uv-built venv cache);
- second deploy of the same spec (cached environment): time to Healthy;
- `service.update` time (new revision started, switched, old drained);
- requests dropped during an update under constant load (4 keep-alive clients).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import httpx
import joblib
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from modelport.core import Model, Workspace
from modelport.core.environment import CondaDependencies, Environment
from modelport.core.model import InferenceConfig
from modelport.core.webservice import LocalWebservice

HERE = Path(__file__).resolve().parent
SCRIPT = HERE.parent / "examples" / "score.py"
REQUEST = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}


def _timed_deploy(ws: Workspace, name: str, model: Model, env: Environment) -> tuple[float, object]:
    start = time.perf_counter()
    service = Model.deploy(
        ws,
        name,
        [model],
        InferenceConfig(entry_script=str(SCRIPT), environment=env),
        LocalWebservice.deploy_configuration(workers=1),
    )
    service.wait_for_deployment()
    return time.perf_counter() - start, service


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="modelport-bench-deploy-"))
    ws = Workspace.create(root / ".modelport")
    try:
        x, y = load_diabetes(return_X_y=True)
        joblib.dump(Ridge().fit(x, y), root / "sklearn_regression_model.pkl")
        model = Model.register(ws, root / "sklearn_regression_model.pkl", "sklearn_regression")
        env = Environment("bench-env")
        env.python.conda_dependencies = CondaDependencies.create(
            pip_packages=["scikit-learn", "joblib", "inference-schema[numpy-support]"]
        )
        first_s, first = _timed_deploy(ws, "bench-first", model, env)
        second_s, second = _timed_deploy(ws, "bench-second", model, env)
        first.delete()  # type: ignore[attr-defined]

        codes: list[int] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    try:
                        codes.append(client.post(second.scoring_uri, json=REQUEST).status_code)  # type: ignore[attr-defined]
                    except httpx.HTTPError:
                        codes.append(-1)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(2)
        start = time.perf_counter()
        second.update(models=[model])  # type: ignore[attr-defined]
        update_s = time.perf_counter() - start
        time.sleep(2)
        stop.set()
        for t in threads:
            t.join()
        dropped = sum(1 for c in codes if c != 200)
        second.delete()  # type: ignore[attr-defined]

        print("| measurement | result |\n|---|---|")
        print(f"| first deploy, fresh environment (uv build) | {first_s:.1f} s |")
        print(f"| second deploy, cached environment | {second_s:.2f} s |")
        print(f"| service.update (start, switch, drain) | {update_s:.2f} s |")
        print(f"| requests during the update window | {len(codes)} |")
        print(f"| dropped requests (non-200 or connection error) | {dropped} |")
    finally:
        ws.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
