"""Profile the seed's Ridge model with default settings and print what it recommends.

Run on demand: `.venv/bin/python bench/profiling.py [--duration 3]` (about 25 s at defaults).
It prints the recommendation, the per-step table and how long the whole profile took.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

SEED_REQUEST = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}
SCORE = Path(__file__).resolve().parents[1] / "tests" / "deploy" / "scripts" / "score.py"


def main() -> None:
    import joblib
    import numpy as np
    from sklearn.linear_model import Ridge

    from modelport.core import Model, Workspace
    from modelport.core.model import InferenceConfig

    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = Workspace.create(root / "ws")
        x = np.random.default_rng(0).normal(size=(50, 10))
        joblib.dump(Ridge().fit(x, x @ np.arange(10.0)), root / "model.pkl")
        model = Model.register(ws, root / "model.pkl", "sklearn_regression")
        (root / "req.txt").write_text("\n".join([json.dumps(SEED_REQUEST)] * 100))
        started = time.perf_counter()
        profile = Model.profile(
            ws,
            "bench",
            [model],
            InferenceConfig(entry_script=str(SCORE)),
            str(root / "req.txt"),
            step_duration_s=args.duration,
        )
        profile.wait_for_completion(show_output=True)
        for step in profile.get_details()["modelport"]["steps"]:
            print(
                {
                    k: step[k]
                    for k in (
                        "concurrency",
                        "requests_per_second",
                        "latency_p99_ms",
                        "cpu_mean_cores",
                        "memory_peak_gb",
                        "client_cpu_mean_cores",
                    )
                }
            )
        print(f"profile took {time.perf_counter() - started:.1f} s")
        ws.close()


if __name__ == "__main__":
    main()
