"""The router's own metrics, per version: requests by status class, latency, shadow pairs.

Each router server process has one event loop, so plain counters suffice (no locks). A
process saves its counters in its slot's state file (`slots.py`) and loads them back when it
is restarted, so counts survive a restart; `/metrics` renders the sum over the endpoint's
server processes in the Prometheus text format.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from typing import Any

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0

    def absorb(self, counts: list[int], total: float) -> None:
        for i, n in enumerate(counts[: len(self.counts)]):
            self.counts[i] += int(n)
        self.sum += float(total)

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.sum += seconds

    def lines(self, name: str, labels: str) -> list[str]:
        out, running = [], 0
        for bound, count in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            out.append(f'{name}_bucket{{{labels},le="{le}"}} {running}')
        out.append(f"{name}_sum{{{labels}}} {self.sum:.6f}")
        out.append(f"{name}_count{{{labels}}} {running}")
        return out


def _klass(status: int) -> str:
    return f"{status // 100}xx" if 200 <= status < 600 else "other"


class RouterMetrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str], int] = defaultdict(int)
        self.latency: dict[str, _Histogram] = defaultdict(_Histogram)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.upstream_errors: dict[str, int] = defaultdict(int)
        self.shadow_sent: dict[str, int] = defaultdict(int)
        self.shadow_dropped: dict[str, int] = defaultdict(int)
        self.shadow_agreed: dict[str, int] = defaultdict(int)
        self.shadow_errors: dict[str, int] = defaultdict(int)
        self.shadow_latency: dict[str, _Histogram] = defaultdict(_Histogram)
        self.reloads = 0
        self.changes = 0  # grows with every change: the state file is saved when it moved

    def enter(self, version: str) -> None:
        self.in_flight[version] += 1
        self.changes += 1

    def leave(self, version: str) -> None:
        self.in_flight[version] -= 1
        self.changes += 1

    def answered(self, version: str, status: int, seconds: float) -> None:
        self.requests[(version, _klass(status))] += 1
        self.latency[version].observe(seconds)

    def refused(self, version: str, status: int) -> None:
        """Answered by the router itself (401, 413): counted, kept out of the latency."""
        self.requests[(version, _klass(status))] += 1

    def dropped(self, version: str) -> None:
        self.shadow_dropped[version] += 1
        self.changes += 1

    def shadowed(self, version: str, status: int, seconds: float, equal: bool) -> None:
        self.changes += 1
        self.shadow_sent[version] += 1
        self.shadow_latency[version].observe(seconds)
        if equal:
            self.shadow_agreed[version] += 1
        if status < 200 or status >= 500:
            self.shadow_errors[version] += 1

    # -- saved and summed across processes ---------------------------------------------
    _COUNTERS = (
        "upstream_errors",
        "shadow_sent",
        "shadow_dropped",
        "shadow_agreed",
        "shadow_errors",
    )

    def dump(self) -> dict[str, Any]:
        """The counters as JSON (in-flight counts apart: they die with the process)."""
        data: dict[str, Any] = {k: dict(getattr(self, k)) for k in self._COUNTERS}
        data["requests"] = [[v, k, n] for (v, k), n in self.requests.items()]
        for key in ("latency", "shadow_latency"):
            data[key] = {v: [h.counts, h.sum] for v, h in getattr(self, key).items()}
        data["reloads"] = self.reloads
        return data

    def absorb(self, data: dict[str, Any]) -> None:
        """Add a dump's counters to these (a restarted process's own, or a sibling's)."""
        for key in self._COUNTERS:
            counter = getattr(self, key)
            for version, n in data.get(key, {}).items():
                counter[version] += int(n)
        for version, klass, n in data.get("requests", []):
            self.requests[(version, klass)] += int(n)
        for key in ("latency", "shadow_latency"):
            for version, (counts, total) in data.get(key, {}).items():
                getattr(self, key)[version].absorb(counts, total)
        self.reloads += int(data.get("reloads", 0))

    def shadow_stats(self) -> dict[str, dict[str, int]]:
        names = set(self.shadow_sent) | set(self.shadow_dropped)
        return {
            n: {
                "sent": self.shadow_sent[n],
                "dropped": self.shadow_dropped[n],
                "agreed": self.shadow_agreed[n],
            }
            for n in sorted(names)
        }

    def render(self) -> bytes:
        out = [
            "# HELP modelport_router_requests_total Requests answered, by version and status class.",
            "# TYPE modelport_router_requests_total counter",
        ]
        for (version, klass), value in sorted(self.requests.items()):
            out.append(
                f'modelport_router_requests_total{{version="{version}",code="{klass}"}} {value}'
            )
        out += [
            "# HELP modelport_router_request_duration_seconds Time to answer, through the router.",
            "# TYPE modelport_router_request_duration_seconds histogram",
        ]
        for version, hist in sorted(self.latency.items()):
            out += hist.lines("modelport_router_request_duration_seconds", f'version="{version}"')
        out += ["# TYPE modelport_router_in_flight gauge"]
        out += [
            f'modelport_router_in_flight{{version="{v}"}} {n}' for v, n in self.in_flight.items()
        ]
        for name, help_, values in (
            (
                "upstream_errors_total",
                "Requests a version did not answer (502).",
                self.upstream_errors,
            ),
            ("shadow_requests_total", "Copies a shadow version answered.", self.shadow_sent),
            (
                "shadow_dropped_total",
                "Copies dropped because the shadow queue was full.",
                self.shadow_dropped,
            ),
            ("shadow_agreed_total", "Shadow answers equal to the primary's.", self.shadow_agreed),
            ("shadow_errors_total", "Shadow answers with 5xx or no answer.", self.shadow_errors),
        ):
            out += [
                f"# HELP modelport_router_{name} {help_}",
                f"# TYPE modelport_router_{name} counter",
            ]
            out += [
                f'modelport_router_{name}{{version="{v}"}} {n}' for v, n in sorted(values.items())
            ]
        out += ["# TYPE modelport_router_shadow_duration_seconds histogram"]
        for version, hist in sorted(self.shadow_latency.items()):
            out += hist.lines("modelport_router_shadow_duration_seconds", f'version="{version}"')
        out += [
            "# TYPE modelport_router_reloads_total counter",
            f"modelport_router_reloads_total {self.reloads}",
        ]
        return ("\n".join(out) + "\n").encode()
