"""Container target figures: image build with a cached environment layer, deploy -> Healthy,
image sizes, and req/s of a container service against a local service of the same script.

    scripts/start-podman && scripts/build-base-image
    .venv/bin/python bench/containers.py [--duration 10] [--concurrency 16]
    .venv/bin/python bench/containers.py --ab 3     # req/s A/B experiments only (see ab())

Both services get the same cores (2 workers, cpu_cores=2 for the container) and the seed's
numpy-schema score.py with a Ridge model; load comes from `wrk` on the same machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serving import LUA, wrk  # noqa: E402


def _script(name: str) -> str:
    return subprocess.run(
        [str(ROOT / "scripts" / name)], capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--ab",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only the req/s A/B experiments, ROUNDS interleaved rounds (see ab())",
    )
    args = parser.parse_args()
    os.environ["MODELPORT_CONTAINER_ENGINE"] = _script("start-podman")
    base = _script("build-base-image")
    os.environ["MODELPORT_DEFAULT_BASE_IMAGE"] = base

    import docker
    import joblib
    import numpy as np
    import sklearn
    from sklearn.linear_model import Ridge

    from modelport.core import Environment, InferenceConfig, Model, Workspace
    from modelport.core.webservice import ContainerWebservice, LocalWebservice
    from modelport.environments import CondaDependencies

    client = docker.DockerClient(base_url=os.environ["MODELPORT_CONTAINER_ENGINE"], version="1.41")
    folder = Path(tempfile.mkdtemp(prefix="bench-containers-"))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 10))
    joblib.dump(Ridge().fit(x, x @ np.arange(10.0)), folder / "sklearn_regression_model.pkl")
    ws = Workspace.create(folder / "ws")
    model = Model.register(ws, folder / "sklearn_regression_model.pkl", "sklearn_regression_model")
    env = Environment("bench-env")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=[
            f"scikit-learn=={sklearn.__version__}",
            "joblib",
            "inference-schema[numpy-support]",
        ]
    )
    script = ROOT / "examples" / "score.py"
    rows: list[tuple[str, str]] = []
    if args.ab:
        ab(ws, model, InferenceConfig(str(script), environment=env), client, folder, args)
        ws.close()
        return

    started = time.monotonic()
    first = Model.package(
        ws,
        [model],
        InferenceConfig(str(script), environment=env),
        image_name="bench",
        image_label="1",
    )
    first.wait_for_creation()
    rows.append(
        ("package build (environment layer as found)", f"{time.monotonic() - started:.1f} s")
    )
    changed = folder / "score.py"
    changed.write_text(script.read_text() + "\n# changed\n")
    started = time.monotonic()
    second = Model.package(
        ws,
        [model],
        InferenceConfig(str(changed), environment=env),
        image_name="bench",
        image_label="2",
    )
    second.wait_for_creation()
    rows.append(
        (
            "package rebuild after a script change (cached environment layer)",
            f"{time.monotonic() - started:.1f} s",
        )
    )
    size = client.images.get(second.location).attrs["Size"] / 1e6
    base_size = client.images.get(base).attrs["Size"] / 1e6
    rows.append(
        ("image size, seed sklearn model", f"{size:.0f} MB (base image {base_size:.0f} MB)")
    )
    for ref in (first.location, second.location):
        client.images.remove(ref, force=True)

    ic = InferenceConfig(str(script), environment=env)
    started = time.monotonic()
    box = Model.deploy(
        ws,
        "bench-box",
        [model],
        ic,
        ContainerWebservice.deploy_configuration(cpu_cores=2, memory_gb=2, workers=2),
    )
    built = time.monotonic()
    box.wait_for_deployment()
    healthy = time.monotonic()
    rows.append(
        (
            "container deploy -> Healthy, image build included (cached layers)",
            f"{healthy - started:.1f} s",
        )
    )
    rows.append(("container start -> Healthy (after the image build)", f"{healthy - built:.1f} s"))
    local = Model.deploy(
        ws, "bench-local", [model], ic, LocalWebservice.deploy_configuration(workers=2)
    )
    local.wait_for_deployment()

    lua = folder / "post.lua"
    lua.write_text(LUA)
    results = {}
    for name, service in (("local", local), ("container", box)):
        rps, p50, p99, errors = wrk(
            service.scoring_uri.removesuffix("/score"), args.concurrency, args.duration, lua
        )
        results[name] = rps
        rows.append(
            (
                f"{name} service req/s (c={args.concurrency}, 2 workers)",
                f"{rps:.0f} (p50 {p50:.2f} ms, p99 {p99:.2f} ms, errors {errors})",
            )
        )
    rows.append(("container / local req/s", f"{results['container'] / results['local']:.2f}x"))
    box.delete()
    local.delete()
    ws.close()
    print("| measure | value |\n|---|---|")
    for key, value in rows:
        print(f"| {key} | {value} |")


def ab(ws, model, ic, client, folder: Path, args: argparse.Namespace) -> None:
    """Where container req/s goes: the same script and image under one change at a time, each
    round measuring every variant back to back (rotated order), so machine load hits all alike.

    local            a local service, 2 workers (the reference)
    box-cpu2         container, cpu_cores=2 (a CFS quota of 2 CPUs), portkeeper socket hand-off
    box-nolimit      container, no CPU limit, portkeeper socket hand-off
    published-cpu2   the same image run by hand with `-p 127.0.0.1:PORT:5001` and --cpus 2
                     (the engine's port forwarding instead of the hand-off)
    """
    import httpx

    from modelport._net import free_port
    from modelport.core import Model
    from modelport.core.webservice import ContainerWebservice, LocalWebservice

    services = {
        "local": Model.deploy(
            ws, "ab-local", [model], ic, LocalWebservice.deploy_configuration(workers=2)
        ),
        "box-cpu2": Model.deploy(
            ws,
            "ab-cpu2",
            [model],
            ic,
            ContainerWebservice.deploy_configuration(cpu_cores=2, memory_gb=2, workers=2),
        ),
        "box-nolimit": Model.deploy(
            ws,
            "ab-nolimit",
            [model],
            ic,
            ContainerWebservice.deploy_configuration(memory_gb=2, workers=2),
        ),
    }
    for service in services.values():
        service.wait_for_deployment()
    urls = {name: s.scoring_uri.removesuffix("/score") for name, s in services.items()}
    image = client.containers.list(filters={"label": "org.modelport.service=ab-cpu2"})[0].image
    port = free_port("127.0.0.1")
    published = client.containers.run(
        image.id,
        detach=True,
        init=True,
        environment={"WORKER_COUNT": "2"},
        ports={"5001/tcp": ("127.0.0.1", port)},
        nano_cpus=2_000_000_000,
        labels={"org.modelport.bench": "ab"},
    )
    urls["published-cpu2"] = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(urls["published-cpu2"] + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(published.logs().decode()[-2000:])
            time.sleep(0.2)
        lua = folder / "post.lua"
        lua.write_text(LUA)
        names = list(urls)
        results: dict[str, list[float]] = {n: [] for n in names}
        for r in range(args.ab):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                rps, _, _, errors = wrk(urls[name], args.concurrency, args.duration, lua)
                assert errors == 0, (name, errors)
                results[name].append(rps)
            ratios = ", ".join(
                f"{n} {results[n][-1] / results['local'][-1]:.2f}x" for n in names[1:]
            )
            print(f"round {r + 1}: local {results['local'][-1]:.0f} req/s; {ratios}", flush=True)
    finally:
        published.remove(force=True)
        for service in services.values():
            service.delete()
    print(
        f"\n| variant (c={args.concurrency}, 2 workers) | req/s per round | vs local, per round |"
    )
    print("|---|---|---|")
    for name in names:
        per = " / ".join(f"{x:.0f}" for x in results[name])
        vs = " / ".join(
            f"{x / y:.2f}" for x, y in zip(results[name], results["local"], strict=True)
        )
        print(f"| {name} | {per} | {vs} |")


if __name__ == "__main__":
    main()
