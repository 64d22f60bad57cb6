"""No-code runtimes vs the entry-script version of the same model, and adaptive batching.

Run on demand (not a test):  .venv/bin/python bench/no_code.py [--duration 5]
Needs `wrk`. Ridge and forest as in PERFORMANCE.md (10 features, request of 2 rows); every
service runs with 2 workers on this machine and is deleted at the end.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from modelport.core import Model, Workspace
from modelport.core.model import InferenceConfig
from modelport.core.webservice import LocalWebservice, Webservice
from modelport.environments import Environment
from modelport.runtimes.batching import batch_environment

ROWS = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]
SCORE_PY = """
import os
import joblib
import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.schema_decorators import input_schema, output_schema

def init():
    global model
    model = joblib.load(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "ridge.pkl"))

@input_schema("data", NumpyParameterType(np.zeros((1, 10))))
@output_schema(NumpyParameterType(np.array([151.0])))
def run(data):
    return model.predict(data).tolist()
"""


def lua(folder: Path, body: str) -> Path:
    path = folder / f"req{abs(hash(body))}.lua"
    path.write_text(
        f"wrk.method = 'POST'\nwrk.body = '{body}'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
    )
    return path


def wrk(uri: str, concurrency: int, duration: int, script: Path) -> tuple[float, float, int]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{duration}s", "--latency", "-s", str(script), uri],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
    assert m is not None, out
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(bad.group(1)) if bad else 0


def deploy(
    ws: Workspace, name: str, model: Model, ic: Any = None, env: dict[str, str] | None = None
) -> Webservice:
    dc = LocalWebservice.deploy_configuration(workers=2, environment_variables=env or {})
    service = Model.deploy(ws, name, [model], ic, dc)
    service.wait_for_deployment()
    return service


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=int, default=5, help="seconds per point")
    args = ap.parse_args()
    from skl2onnx import to_onnx
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Ridge

    x, y = load_diabetes(return_X_y=True)
    tmp = Path(tempfile.mkdtemp(prefix="mp-nocode-bench-"))
    ws = Workspace.create(tmp / "ws")
    ridge = Ridge().fit(x, y)
    joblib.dump(ridge, tmp / "ridge.pkl")
    (tmp / "ridge.onnx").write_bytes(to_onnx(ridge, x[:1].astype(np.float32)).SerializeToString())
    forest = RandomForestRegressor(n_estimators=100, max_depth=10, random_state=0).fit(x, y)
    joblib.dump(forest, tmp / "forest.pkl")
    (tmp / "score.py").write_text(SCORE_PY)
    sk = Model.register(ws, tmp / "ridge.pkl", "ridge", model_framework="ScikitLearn")
    ox = Model.register(ws, tmp / "ridge.onnx", "ridge-onnx", model_framework="Onnx")
    fo = Model.register(ws, tmp / "forest.pkl", "forest", model_framework="ScikitLearn")
    entry = InferenceConfig(entry_script=str(tmp / "score.py"), environment=Environment.current())
    body = '{"data": ' + str(ROWS) + "}"
    onnx_body = '{"X": ' + str(ROWS) + "}"
    rows: list[tuple[str, int, float, float, int]] = []
    try:
        plan = [
            ("ridge, entry script", deploy(ws, "ridge-entry", sk, entry), body, 8),
            ("ridge, no-code sklearn", deploy(ws, "ridge-nocode", sk), body, 8),
            ("ridge, no-code ONNX", deploy(ws, "ridge-onnx", ox), onnx_body, 8),
            ("forest, no-code unbatched", deploy(ws, "forest-plain", fo), body, 64),
            (
                "forest, no-code batched (64 rows, 5 ms)",
                deploy(ws, "forest-batched", fo, env=batch_environment(64, 5)),
                body,
                64,
            ),
        ]
        for label, service, payload, conc in plan:
            script = lua(tmp, payload)
            wrk(service.scoring_uri, conc, 1, script)  # warm-up
            rps, p99, bad = wrk(service.scoring_uri, conc, args.duration, script)
            rows.append((label, conc, rps, p99, bad))
            service.delete()
    finally:
        for service in Webservice.list(ws):
            service.delete()
        ws.close()
    print("| service | c | req/s | p99 ms | non-2xx |\n|---|---:|---:|---:|---:|")
    for label, conc, rps, p99, bad in rows:
        print(f"| {label} | {conc} | {rps:.0f} | {p99:.1f} | {bad} |")


if __name__ == "__main__":
    sys.exit(main())
