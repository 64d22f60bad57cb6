"""Throughput, latency, start-up and memory: modelport vs azureml-inference-server-http, and
vs a raw uvicorn ASGI app serving the same model (the ceiling of any Python server here).

Run on demand (not a test):
    .venv/bin/python bench/serving.py [--duration 10] [--repeats 3] [--write-readme]
Servers alternate within each repeat, so a busy moment of the machine hits them alike;
the table reports the median and the min-max range of req/s over the repeats.
Needs `wrk` (apt-get install -y wrk). The reference server is installed once into
$MODELPORT_TEST_CACHE (default ~/.cache/modelport-tests/refsrv), shared with the conformance test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

SCORE_PY = """
import os

import joblib
import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    global model
    model = joblib.load(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.pkl"))


input_sample = np.array([[0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, -0.002, 0.02, -0.02]])
output_sample = np.array([151.0])


@input_schema("data", NumpyParameterType(input_sample))
@output_schema(NumpyParameterType(output_sample))
def run(data):
    return model.predict(data).tolist()
"""
LUA = """wrk.method = "POST"
wrk.body   = '{"data": [[1,2,3,4,5,6,7,8,9,10],[10,9,8,7,6,5,4,3,2,1]]}'
wrk.headers["Content-Type"] = "application/json"
"""
BODY = b'{"data": [[1,2,3,4,5,6,7,8,9,10],[10,9,8,7,6,5,4,3,2,1]]}'
# The same model and request with no framework: parse JSON, predict, dump JSON.
RAW_APP = """
import json, os

import joblib
import numpy as np

model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.pkl"))


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    out = json.dumps(model.predict(np.array(json.loads(body)["data"])).tolist()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": out})
"""
ROOT = Path(__file__).resolve().parent
MARK_BEGIN, MARK_END = "<!-- bench:begin -->", "<!-- bench:end -->"


def reference_python() -> Path:
    cache = Path(
        os.environ.get("MODELPORT_TEST_CACHE") or Path.home() / ".cache/modelport-tests/refsrv"
    )
    python = cache / "venv" / "bin" / "python"
    if not python.with_name("azmlinfsrv").exists():
        import sklearn

        uv = Path(sys.executable).with_name("uv")
        subprocess.run(
            [str(uv), "venv", "--quiet", "--python", sys.executable, str(cache / "venv")],
            check=True,
        )
        subprocess.run(
            [
                str(uv),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(python),
                "azureml-inference-server-http>=1.5,<1.6",
                f"scikit-learn=={sklearn.__version__}",
                "joblib",
            ],
            check=True,
        )
    return python


def fit_models(folder: Path) -> dict[str, Path]:
    import joblib
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Ridge

    X, y = load_diabetes(return_X_y=True)
    out = {}
    for name, model in (
        ("ridge", Ridge()),
        ("forest", RandomForestRegressor(100, max_depth=10, random_state=0)),
    ):
        model_dir = folder / name
        model_dir.mkdir()
        joblib.dump(model.fit(X, y), model_dir / "model.pkl")
        out[name] = model_dir
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BASELINE: dict[str, str] = {}  # "baseline" server: another modelport install (--baseline-python)


def start(kind: str, app: Path, model_dir: Path, workers: int, ref_python: Path | None):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_"))}
    env.update({"AZUREML_MODEL_DIR": str(model_dir), "AML_APP_ROOT": str(app)})
    if kind in ("modelport", "baseline"):
        cmd = [
            BASELINE["python"] if kind == "baseline" else sys.executable,
            "-m",
            "modelport.scoring",
            "--entry-script",
            "score.py",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "WARNING",
        ]
    elif kind == "uvicorn":
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "raw_app:app",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--http",
            "httptools",
            "--loop",
            "uvloop",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    else:
        assert ref_python is not None
        cmd = [
            str(ref_python.with_name("azmlinfsrv")),
            "--entry_script",
            "score.py",
            "--port",
            str(port),
            "--worker_count",
            str(workers),
        ]
    began = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=app, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            r = httpx.post(
                url + "/score",
                content=BODY,
                headers={"Content-Type": "application/json"},
                timeout=2,
            )
            if r.status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() - began > 120:
            raise RuntimeError(f"{kind} did not start")
        time.sleep(0.02)
    startup = time.monotonic() - began
    if kind in ("modelport", "baseline"):  # every worker must be up before measuring memory
        while httpx.get(url + "/readyz").status_code != 200:
            time.sleep(0.05)
    elif kind == "uvicorn":
        time.sleep(1.0)  # its workers import the model one after the other
        time.sleep(1.0)  # gunicorn forks its workers; give the second one time to init()
    return proc, url, startup


def tree_rss_mib(pid: int) -> float:
    parent = psutil.Process(pid)
    procs = [parent, *parent.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs) / 2**20


def wrk(url: str, concurrency: int, duration: int, lua: Path) -> tuple[float, float, float, int]:
    threads = 1 if concurrency == 1 else 2
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(lua),
            url + "/score",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(g) for g in m.groups()[1:])
    return rps, pct("50"), pct("99"), errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=int, default=10, help="seconds per point")
    ap.add_argument("--repeats", type=int, default=1, help="runs of every server and point")
    ap.add_argument("--concurrency", default="1,8,64")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--servers", default="modelport,uvicorn,reference")
    ap.add_argument("--models", default="ridge,forest")
    ap.add_argument(
        "--write-readme", action="store_true", help="write the table into bench/README.md"
    )
    ap.add_argument(
        "--baseline-python",
        help="an interpreter with another modelport installed: adds server 'baseline' "
        "(e.g. the previous release) to compare in the same run",
    )
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    servers = args.servers.split(",")
    if args.baseline_python:
        BASELINE["python"] = args.baseline_python
        servers.insert(1, "baseline")
    ref_python = reference_python() if "reference" in servers else None
    levels = [int(c) for c in args.concurrency.split(",")]
    results: dict[tuple[str, str], dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp)
        (app / "score.py").write_text(SCORE_PY)
        (app / "raw_app.py").write_text(RAW_APP)
        lua = app / "post.lua"
        lua.write_text(LUA)
        models = fit_models(app)
        for model in args.models.split(","):
            for repeat in range(args.repeats):
                for kind in servers:
                    proc, url, startup = start(kind, app, models[model], args.workers, ref_python)
                    try:
                        rss = tree_rss_mib(proc.pid)
                        points = {c: wrk(url, c, args.duration, lua) for c in levels}
                    finally:
                        proc.terminate()
                        proc.wait(timeout=60)
                    entry = results.setdefault(
                        (kind, model), {"startup": [], "rss": [], "points": {c: [] for c in levels}}
                    )
                    entry["startup"].append(startup)
                    entry["rss"].append(rss)
                    for c, point in points.items():
                        entry["points"][c].append(point)
                    print(
                        f"repeat {repeat + 1}",
                        kind,
                        model,
                        f"start {startup:.2f}s rss {rss:.0f} MiB",
                        {
                            c: f"{p[0]:.0f} req/s p50 {p[1]:.2f} p99 {p[2]:.2f} err {p[3]}"
                            for c, p in points.items()
                        },
                        flush=True,
                    )
    table = render(results, levels, args)
    print(table)
    if args.write_readme:
        write_readme(table)


def render(results: dict, levels: list[int], args: argparse.Namespace) -> str:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    lines = [
        f"{args.workers} workers each, {args.duration} s per point, {args.repeats} repeat(s) with "
        "the servers alternating, wrk on the same cores, keep-alive (the reference closes "
        f"connections), {os.cpu_count()} CPUs. req/s is the median, with the min-max range.",
        "",
        "| server | model | c | req/s (median) | min-max | p50 ms | p99 ms | errors | vs reference | vs raw uvicorn |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (kind, model), res in results.items():
        for c in levels:
            runs = res["points"][c]
            rps = [r[0] for r in runs]
            row_rps = median(rps)
            p50 = median([r[1] for r in runs])
            p99 = median([r[2] for r in runs])
            errors = sum(r[3] for r in runs)
            ratios = []
            for peer in ("reference", "uvicorn"):
                other = results.get((peer, model))
                if other and kind in ("modelport", "baseline"):
                    ratios.append(f"{row_rps / median([r[0] for r in other['points'][c]]):.2f}x")
                else:
                    ratios.append("")
            lines.append(
                f"| {kind} | {model} | {c} | {row_rps:.0f} | {min(rps):.0f}-{max(rps):.0f} | "
                f"{p50:.2f} | {p99:.2f} | {errors} | {ratios[0]} | {ratios[1]} |"
            )
    lines += [
        "",
        "| server | model | start-up to first 200 | idle RSS of the process tree |",
        "|---|---|---:|---:|",
    ]
    for (kind, model), res in results.items():
        lines.append(
            f"| {kind} | {model} | {median(res['startup']):.2f} s | {median(res['rss']):.0f} MiB |"
        )
    return "\n".join(lines)


def write_readme(table: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text() if readme.exists() else ""
    block = f"{MARK_BEGIN}\n{table}\n{MARK_END}"
    if MARK_BEGIN in text and MARK_END in text:
        text = text[: text.index(MARK_BEGIN)] + block + text[text.index(MARK_END) + len(MARK_END) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text)


if __name__ == "__main__":
    main()
