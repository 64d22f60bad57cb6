"""The recommendation rule: the CPU, memory and replicas a service should request.

CPU is sized for the load one replica is expected to carry, not for the most it can be pushed
to: a saturated single worker uses a whole core whatever it runs, so "cores at saturation"
would rate an idle model like a CPU-bound one. The reference load is one request in flight per
worker (the first step whose concurrency reaches the worker count) or, with a target request
rate, the first step that delivers each replica's share of it. See docs/profiling.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from modelport.profiling.results import StepStats

CPU_HEADROOM = 1.2
MEMORY_HEADROOM = 1.25
MEMORY_FLOOR_GB = 0.1
MAX_ERROR_RATE = 0.01


@dataclass
class Recommendation:
    cpu: float  # cores per replica, 0.1 steps
    memory_in_gb: float  # per replica, 0.1 GB steps
    workers: int  # worker processes per replica (as profiled)
    replicas: int | None  # replicas for target_rps, None without a target
    workers_single_replica: int | None  # or: workers in one replica for target_rps
    reference_concurrency: int  # the step the CPU figure comes from
    reference_cpu_cores: float  # p90 cores measured at that step
    peak_memory_gb: float  # peak RSS of the whole process tree, any step
    max_concurrency_within_target: int | None  # highest step with p99 <= target
    breaking_concurrency: int | None  # first step with p99 > target (or errors)
    sustainable_rps: float  # req/s of one replica at max_concurrency_within_target
    latency_target_ms: float
    target_rps: float | None
    latency_target_met: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        return cls(**data)


def recommend(
    steps: Sequence[StepStats],
    workers: int,
    latency_target_ms: float,
    target_rps: float | None = None,
) -> Recommendation:
    """Apply the rule to measured steps (at least one, in rising concurrency)."""
    if not steps:
        raise ValueError("recommend() needs at least one measured step")
    within = _prefix_within(steps, latency_target_ms)
    breaking = steps[len(within)].concurrency if len(within) < len(steps) else None
    operating = within[-1] if within else steps[0]
    sustainable = max(
        (s.requests_per_second for s in within), default=operating.requests_per_second
    )

    replicas = workers_single = None
    reference = next((s for s in steps if s.concurrency >= workers), steps[-1])
    if target_rps is not None and sustainable > 0:
        replicas = max(1, math.ceil(target_rps / sustainable))
        per_worker = sustainable / workers
        workers_single = max(1, math.ceil(target_rps / per_worker))
        share = target_rps / replicas
        candidates = within or [operating]
        reference = next((s for s in candidates if s.requests_per_second >= share), candidates[-1])

    basis = reference.cpu_p90_cores if reference.samples else reference.cpu_mean_cores
    peak_memory = max(s.memory_peak_gb for s in steps)
    return Recommendation(
        cpu=max(0.1, ceil_tenth(basis * CPU_HEADROOM)),
        memory_in_gb=max(0.1, ceil_tenth(peak_memory * MEMORY_HEADROOM + MEMORY_FLOOR_GB)),
        workers=workers,
        replicas=replicas,
        workers_single_replica=workers_single,
        reference_concurrency=reference.concurrency,
        reference_cpu_cores=round(basis, 3),
        peak_memory_gb=round(peak_memory, 4),
        max_concurrency_within_target=within[-1].concurrency if within else None,
        breaking_concurrency=breaking,
        sustainable_rps=round(sustainable, 2),
        latency_target_ms=latency_target_ms,
        target_rps=target_rps,
        latency_target_met=bool(within),
    )


def ceil_tenth(value: float) -> float:
    """Round up to 0.1, ignoring float noise (0.30000000004 stays 0.3)."""
    return math.ceil(round(value * 10, 6)) / 10


def _prefix_within(steps: Sequence[StepStats], latency_target_ms: float) -> list[StepStats]:
    """The steps before the first that broke the target: latency is judged as load rises."""
    out: list[StepStats] = []
    for step in steps:
        if not step.within(latency_target_ms, MAX_ERROR_RATE):
            break
        out.append(step)
    return out
