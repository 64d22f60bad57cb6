"""Endpoint router benchmark (issue 12). Run on demand: `.venv/bin/python bench/rollout.py`.

Reports, on the seed's Ridge score.py served by one local version (workers=1):
- router overhead per request: p50 of the difference between a keep-alive call through the
  router and one to the version directly, interleaved in pairs (target < 0.3 ms), and the same from wrk at c=1;
- req/s through the router against direct, wrk at c=1 and c=16, and the router server
  processes' CPU time per request (user and system) during those wrk runs;
- shadow traffic: a primary answering in ~5 ms with a shadow 10x slower (~50 ms) receiving a
  copy of every request: the primary's p99 with and without the shadow (target: within 10%).
Needs `wrk`. Numbers depend on what else runs on the machine; the report says the load.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import joblib
import numpy as np
import orjson
import psutil
from sklearn.linear_model import Ridge

from modelport.core import Model, Workspace
from modelport.core.endpoint import Endpoint
from modelport.core.model import InferenceConfig
from modelport.environments import Environment

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from serving import LUA, wrk  # noqa: E402  (the serving bench's wrk runner and request)

SEED = HERE.parent / "examples" / "score.py"
ECHO = HERE.parent / "tests" / "endpoints" / "scripts" / "echo.py"
BODY = b'{"data": [[1,2,3,4,5,6,7,8,9,10],[10,9,8,7,6,5,4,3,2,1]]}'


def interleaved_p50_ms(direct: str, via: str, n: int) -> tuple[float, float, float]:
    """p50 of sequential keep-alive calls to the version directly and through the router, and
    the p50 of the per-pair difference: the two calls alternate (which goes first alternates
    too), so a busy moment of the machine hits both alike, and http.client keeps the client's
    own cost (~0.05 ms, against httpx's ~1 ms) out of the figures."""

    def connect(url: str) -> tuple[http.client.HTTPConnection, str]:
        parts = urlsplit(url)
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60), parts.path

    def call(conn: http.client.HTTPConnection, path: str) -> float:
        start = time.perf_counter()
        conn.request("POST", path, BODY, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        seconds = time.perf_counter() - start
        assert response.status == 200, response.status
        return seconds

    (dc, dp), (rc, rp) = connect(direct), connect(via)
    try:
        for _ in range(50):
            call(dc, dp), call(rc, rp)
        d, r = [], []
        for i in range(n):
            if i % 2:
                d.append(call(dc, dp))
                r.append(call(rc, rp))
            else:
                r.append(call(rc, rp))
                d.append(call(dc, dp))
    finally:
        dc.close(), rc.close()
    diff = statistics.median(b - a for a, b in zip(d, r, strict=True))
    return statistics.median(d) * 1000, statistics.median(r) * 1000, diff * 1000


def router_cpu(endpoint: Endpoint) -> tuple[float, float]:
    """(user, system) CPU seconds used so far by the endpoint's router server processes."""
    status = orjson.loads((endpoint.folder / "status.json").read_bytes())
    user = system = 0.0
    for pid, _ in status["servers"]:
        times = psutil.Process(pid).cpu_times()
        user, system = user + times.user, system + times.system
    return user, system


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--router-workers", type=int, nargs="+", default=[1, 2], help="router processes to try"
    )
    parser.add_argument("--no-shadow", action="store_true", help="skip the shadow measurement")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    root = Path(tempfile.mkdtemp(prefix="modelport-bench-rollout-"))
    lua = root / "post.lua"
    lua.write_text(LUA)
    ws = Workspace.create(root / ".modelport")
    endpoints: list[Endpoint] = []
    try:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(50, 10))
        joblib.dump(Ridge().fit(x, x @ np.arange(10.0)), root / "sklearn_regression_model.pkl")
        model = Model.register(ws, root / "sklearn_regression_model.pkl", "sklearn_regression")
        env = Environment.current()

        def endpoint(
            name: str, script: Path, router_workers: int = 1, **version_env: str
        ) -> Endpoint:
            cfg = Endpoint.deploy_configuration(
                version_name="a",
                workers=1,
                environment_variables=version_env,
                router_workers=router_workers,
            )
            ic = InferenceConfig(entry_script=str(script), environment=env)
            made = Model.deploy(ws, name, [model], ic, cfg)
            assert isinstance(made, Endpoint)
            made.wait_for_deployment()
            endpoints.append(made)
            return made

        rows = []
        overheads: list[tuple[str, float]] = []
        cpu: list[tuple[str, int, float, float]] = []
        for router_workers in args.router_workers:
            light = endpoint(f"light{router_workers}", SEED, router_workers)
            via = light.scoring_uri
            direct = light.versions["a"].scoring_uri
            tag = f"router x{router_workers}: "
            direct_p50, router_p50, paired = interleaved_p50_ms(direct, via, args.requests)
            rows.append((tag + "sequential, interleaved, p50 ms", direct_p50, router_p50))
            overheads.append((tag, paired))
            for c in (1, 16):
                d = wrk(direct.removesuffix("/score"), c, args.duration, lua)
                before = router_cpu(light)
                r = wrk(via.removesuffix("/score"), c, args.duration, lua)
                after = router_cpu(light)
                served = r[0] * args.duration / 1e6  # requests, in millions: CPU in µs each
                cpu.append(
                    (tag, c, (after[0] - before[0]) / served, (after[1] - before[1]) / served)
                )
                rows.append((tag + f"wrk c={c} req/s", d[0], r[0]))
                rows.append((tag + f"wrk c={c} p50 ms", d[1], r[1]))
                rows.append((tag + f"wrk c={c} p99 ms", d[2], r[2]))
                assert d[3] == r[3] == 0, (d, r)
            light.delete()
            endpoints.remove(light)

        if args.no_shadow:
            _print_rows(rows)
            _print_overheads(overheads, cpu)
            return
        slow = endpoint("shadowed", ECHO, ECHO_DELAY_S="0.005")
        base = slow.scoring_uri.removesuffix("/score")
        slow.create_version("s", environment_variables={"ECHO_DELAY_S": "0.05"})
        # the shadow version runs in both conditions; only whether it gets copies alternates,
        # three rounds each, so a busy moment of the machine hits both alike
        p99: dict[int, list[float]] = {0: [], 100: []}
        rps: dict[int, list[float]] = {0: [], 100: []}
        for _ in range(3):
            for share in (0, 100):
                slow.update_version("s", shadow_percentile=share)
                point = wrk(base, 4, args.duration, lua)
                p99[share].append(point[2])
                rps[share].append(point[0])
                assert point[3] == 0, point
        report = slow.get_shadow_report()["s"]
        queued = httpx.get(f"{base}/-/routing").json()["shadow_queued"]
        without = (statistics.median(rps[0]), statistics.median(p99[0]))
        with_shadow = (statistics.median(rps[100]), statistics.median(p99[100]))

        _print_rows(rows)
        _print_overheads(overheads, cpu)
        print(
            "\n| primary ~5 ms, shadow ~50 ms; wrk c=4, median of 3 alternating runs "
            "| req/s | primary p99 ms | p99 of each run |"
        )
        print("|---|---:|---:|---|")
        for label, share, point in (("no copies", 0, without), ("100% copied", 100, with_shadow)):
            runs = ", ".join(f"{v:.1f}" for v in p99[share])
            print(f"| {label} | {point[0]:.0f} | {point[1]:.2f} | {runs} |")
        change = 100 * (with_shadow[1] - without[1]) / without[1]
        print(
            f"\nprimary p99 change with the shadow: {change:+.1f}%; shadow pairs "
            f"{report['pairs']}, dropped {report['dropped']} (queue full), still queued {queued}, "
            f"shadow p50 {report['shadow_ms']['p50']} ms"
        )
    finally:
        for made in endpoints:
            made.delete()
        ws.close()
        shutil.rmtree(root, ignore_errors=True)


def _print_rows(rows: list[tuple[str, float, float]]) -> None:
    load = os.getloadavg()[0]
    print(
        f"\nrouter benchmark, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"load average {load:.1f} on {os.cpu_count()} CPUs\n"
    )
    print("| measurement | direct | through the router | router cost |")
    print("|---|---:|---:|---:|")
    for what, d, r in rows:
        cost = f"{r - d:+.2f} ms" if "ms" in what else f"{r / d:.2f}x"
        print(f"| {what} | {d:.2f} | {r:.2f} | {cost} |")


def _print_overheads(
    overheads: list[tuple[str, float]], cpu: list[tuple[str, int, float, float]]
) -> None:
    for tag, ms in overheads:
        print(f"{tag}router overhead, p50 of paired differences: {ms:+.3f} ms (target < 0.3)")
    for tag, c, user, system in cpu:
        print(
            f"{tag}router CPU per request at wrk c={c}: user {user:.0f} µs, system {system:.0f} µs"
        )


if __name__ == "__main__":
    main()
