"""Kubernetes target figures on the test cluster (scripts/start-kube): deploy -> Healthy with a
cached image, a rolling update's duration and the requests dropped under load, req/s with 1
and 2 replicas against a local service of the same script on the same cores, and the memory
the cluster's own processes use.

    scripts/start-podman && scripts/build-base-image && scripts/start-registry && scripts/start-kube
    .venv/bin/python bench/kubernetes.py [--duration 10] [--concurrency 16]

Replicas run one worker each (cpu_cores=0.5 requested, so a surge replica fits on 2 cores) on the host network behind one port (SO_REUSEPORT);
the local service gets 1 worker too, then 2 for the 2-replica comparison. Load comes from `wrk`
on the same machine: on 2 cores, wrk, the cluster and the replicas share them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# this file's folder comes first on the path when run as a script: it would shadow the
# `kubernetes` package it is named after
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from bench.serving import LUA, wrk  # noqa: E402

KUBE_DIR = Path(os.environ.get("MODELPORT_KUBE_DIR", "/var/tmp/modelport/kube"))
KUBE_PROCS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "containerd",
    "kubelet",
)


def _script(name: str) -> str:
    return (
        subprocess.run([str(ROOT / "scripts" / name)], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )


def _control_plane_rss() -> dict[str, float]:
    import psutil

    found = {}
    for name in KUBE_PROCS:
        try:
            pid = int((KUBE_DIR / "pids" / f"{name}.pid").read_text())
            found[name] = psutil.Process(pid).memory_info().rss / 2**20
        except (OSError, ValueError, psutil.Error):
            continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    os.environ["MODELPORT_CONTAINER_ENGINE"] = _script("start-podman")
    os.environ["MODELPORT_DEFAULT_BASE_IMAGE"] = _script("build-base-image")
    address, user, password = _script("start-registry").split()
    kubeconfig = _script("start-kube")

    import httpx
    import sklearn

    from modelport.configs import DeploymentConfig
    from modelport.core import Environment, InferenceConfig, Model, Workspace
    from modelport.core.webservice import LocalWebservice
    from modelport.deploy.computes import ComputeRecord, attach_compute
    from modelport.environments import CondaDependencies

    folder = Path(tempfile.mkdtemp(prefix="bench-kubernetes-"))
    ws = Workspace.create(folder / "ws")
    ws.set_container_registry(address, user, password)
    attach_compute(
        ws, ComputeRecord("kube", kubeconfig=kubeconfig, extra={"exposure": "host-network"})
    )
    env = Environment("bench-env")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=[
            f"scikit-learn=={sklearn.__version__}",
            "joblib",
            "inference-schema[numpy-support]",
        ]
    )

    def app(answer: str) -> InferenceConfig:
        path = folder / answer / "score.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"def init():\n    pass\n\ndef run(raw):\n    return {answer!r}\n")
        return InferenceConfig(entry_script=str(path), environment=env)

    rows: list[tuple[str, str]] = []
    dc = DeploymentConfig(compute_type="kubernetes", num_replicas=1, cpu_cores=0.5, memory_gb=0.5)
    # warm the image layers (environment) once; the figures below use the cached layers
    warm = Model.deploy(ws, "bench-warm", [], app("warm"), dc)
    warm.wait_for_deployment(timeout_sec=1800)
    warm.delete()
    started = time.monotonic()
    service = Model.deploy(ws, "bench-kube", [], app("one"), dc)
    service.wait_for_deployment(timeout_sec=900)
    rows.append(
        (
            "deploy -> Healthy (image build with cached layers, push, pull, start)",
            f"{time.monotonic() - started:.1f} s",
        )
    )

    failures: list[str] = []
    sent = [0]
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                try:
                    answer = client.post(service.scoring_uri, content=b"x")
                    sent[0] += 1
                    if answer.status_code != 200:
                        failures.append(str(answer.status_code))
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    started = time.monotonic()
    service.update(inference_config=app("two"))
    rows.append(
        (
            "rolling update duration (build included), 1 replica",
            f"{time.monotonic() - started:.1f} s",
        )
    )
    stop.set()
    for t in threads:
        t.join()
    rows.append(
        (
            "requests dropped during the update (4 keep-alive clients)",
            f"{len(failures)} of {sent[0]}",
        )
    )

    lua = folder / "post.lua"
    lua.write_text(LUA)

    def measure(label: str, url: str) -> float:
        rps, p50, p99, errors = wrk(url, args.concurrency, args.duration, lua)
        rows.append(
            (
                f"{label} req/s (c={args.concurrency})",
                f"{rps:.0f} (p50 {p50:.2f} ms, p99 {p99:.2f} ms, errors {errors})",
            )
        )
        return rps

    base = service.scoring_uri.removesuffix("/score")
    one = measure("kubernetes, 1 replica x 1 worker", base)
    service.update(
        deployment_config=DeploymentConfig(
            compute_type="kubernetes", num_replicas=2, cpu_cores=0.5, memory_gb=0.5
        )
    )
    two = measure("kubernetes, 2 replicas x 1 worker", base)
    service.delete()
    for workers in (1, 2):
        local = Model.deploy(
            ws,
            f"bench-local{workers}",
            [],
            app("local"),
            LocalWebservice.deploy_configuration(workers=workers),
        )
        local.wait_for_deployment()
        rps = measure(
            f"local service, {workers} worker(s)", local.scoring_uri.removesuffix("/score")
        )
        rows.append(
            (
                f"kubernetes / local, {workers} replica(s) vs {workers} worker(s)",
                f"{(one if workers == 1 else two) / rps:.2f}x",
            )
        )
        local.delete()
    rss = _control_plane_rss()
    rows.append(
        (
            "cluster processes RSS",
            f"{sum(rss.values()):.0f} MB ("
            + ", ".join(f"{k} {v:.0f}" for k, v in rss.items())
            + ")",
        )
    )
    ws.close()
    print("| measure | value |\n|---|---|")
    for key, value in rows:
        print(f"| {key} | {value} |")


if __name__ == "__main__":
    main()
