"""The recommendation rule on fixed figures: ordering, rounding, latency target, replicas."""

from __future__ import annotations

from typing import Any

from modelport.profiling.recommend import ceil_tenth, recommend
from modelport.profiling.results import StepStats


def step(
    concurrency: int, rps: float, p99: float, cores: float, gb: float, errors: int = 0
) -> StepStats:
    values: dict[str, Any] = {
        "concurrency": concurrency,
        "duration_s": 1.0,
        "requests": int(rps) + errors,
        "errors": errors,
        "requests_per_second": rps,
        "latency_p50_ms": p99 / 2,
        "latency_p90_ms": p99 * 0.8,
        "latency_p99_ms": p99,
        "latency_max_ms": p99,
        "cpu_mean_cores": cores * 0.9,
        "cpu_p90_cores": cores,
        "cpu_peak_cores": cores,
        "memory_mean_gb": gb,
        "memory_peak_gb": gb,
        "samples": 10,
    }
    return StepStats(**values)


def test_cpu_bound_and_memory_heavy_get_more() -> None:
    idle = [step(1, 800, 3, 0.2, 0.2), step(2, 900, 5, 0.3, 0.2), step(4, 950, 9, 1.0, 0.2)]
    heavy = [step(1, 45, 25, 0.95, 0.6), step(2, 46, 50, 1.0, 0.6), step(4, 46, 100, 1.0, 0.6)]
    a, b = recommend(idle, 1, 500), recommend(heavy, 1, 500)
    assert (a.cpu, a.memory_in_gb) == (0.3, 0.4)  # 0.2*1.2 → 0.3; 0.2*1.25+0.1 → 0.35 → 0.4
    assert (b.cpu, b.memory_in_gb) == (1.2, 0.9)
    assert a.reference_concurrency == b.reference_concurrency == 1


def test_latency_target_and_replicas() -> None:
    steps = [step(1, 40, 30, 0.9, 0.3), step(2, 50, 300, 1.0, 0.3), step(4, 50, 900, 1.0, 0.3)]
    rec = recommend(steps, 1, latency_target_ms=500, target_rps=120)
    assert rec.max_concurrency_within_target == 2 and rec.breaking_concurrency == 4
    assert rec.sustainable_rps == 50 and rec.replicas == 3 and rec.workers_single_replica == 3
    assert rec.reference_concurrency == 1  # 40 req/s covers each replica's 40 req/s share
    failing = recommend([step(1, 1, 900, 0.05, 0.1)], 1, latency_target_ms=500)
    assert not failing.latency_target_met and failing.cpu == 0.1  # never below 0.1
    errors = recommend([step(1, 100, 5, 0.5, 0.1, errors=50), step(2, 100, 5, 0.5, 0.1)], 1, 500)
    assert errors.max_concurrency_within_target is None and errors.breaking_concurrency == 1


def test_ceil_tenth_ignores_float_noise() -> None:
    assert ceil_tenth(0.1 * 3) == 0.3
    assert ceil_tenth(0.31) == 0.4
    assert ceil_tenth(1.0) == 1.0
