"""Per-step figures: the client's view (throughput, latency, errors) joined with the sampler's
(CPU and memory of the service's process tree while that step ran)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from modelport.profiling.sampler import Sample

if TYPE_CHECKING:
    from modelport.profiling.load import StepLoad  # httpx: only when a profile runs

GB = 1024**3


@dataclass
class StepStats:
    concurrency: int
    duration_s: float
    requests: int
    errors: int
    requests_per_second: float  # successful requests per second
    latency_p50_ms: float | None
    latency_p90_ms: float | None
    latency_p99_ms: float | None
    latency_max_ms: float | None
    cpu_mean_cores: float
    cpu_p90_cores: float
    cpu_peak_cores: float
    memory_mean_gb: float
    memory_peak_gb: float
    samples: int
    client_cpu_mean_cores: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 1.0

    def within(self, latency_target_ms: float, max_error_rate: float) -> bool:
        """Met the latency target with (almost) no errors."""
        return (
            self.latency_p99_ms is not None
            and self.latency_p99_ms <= latency_target_ms
            and self.error_rate <= max_error_rate
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepStats:
        return cls(**data)


def summarize(load: StepLoad, samples: Sequence[Sample]) -> StepStats:
    ok = sorted(load.latencies_ms)
    cores = sorted(s.cores for s in samples)
    memory = [s.rss_bytes / GB for s in samples]
    return StepStats(
        concurrency=load.concurrency,
        duration_s=round(load.elapsed_s, 3),
        requests=load.ok + load.errors,
        errors=load.errors,
        requests_per_second=round(load.ok / load.elapsed_s, 2) if load.elapsed_s else 0.0,
        latency_p50_ms=_round(percentile(ok, 50)),
        latency_p90_ms=_round(percentile(ok, 90)),
        latency_p99_ms=_round(percentile(ok, 99)),
        latency_max_ms=_round(ok[-1] if ok else None),
        cpu_mean_cores=round(sum(cores) / len(cores), 3) if cores else 0.0,
        cpu_p90_cores=round(percentile(cores, 90) or 0.0, 3),
        cpu_peak_cores=round(cores[-1], 3) if cores else 0.0,
        memory_mean_gb=round(sum(memory) / len(memory), 4) if memory else 0.0,
        memory_peak_gb=round(max(memory), 4) if memory else 0.0,
        samples=len(samples),
        client_cpu_mean_cores=round(sum(s.client_cores for s in samples) / len(samples), 3)
        if samples
        else 0.0,
        statuses=dict(load.statuses),
        error_samples=[str(e) for e in load.error_samples],
    )


def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
