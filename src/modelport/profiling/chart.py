"""A self-contained HTML report: inline SVG charts, no scripts, no external files.

Left: throughput and p99 latency against concurrency, with the latency target. Right: CPU
(mean and peak cores) and peak memory against concurrency. Concurrency is categorical (the
steps are powers of two), so points sit evenly spaced.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from modelport.profiling.recommend import Recommendation
from modelport.profiling.results import StepStats

W, H = 460, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 52, 24, 40


def render_html(name: str, steps: Sequence[StepStats], rec: Recommendation | None) -> str:
    """The report page for profile `name`."""
    labels = [str(s.concurrency) for s in steps]
    p99 = [s.latency_p99_ms or 0.0 for s in steps]
    left = _chart(
        "Throughput and p99 latency",
        labels,
        ("req/s", [s.requests_per_second for s in steps], "#1f77b4"),
        ("p99 ms", p99, "#d62728"),
        right_line=rec.latency_target_ms if rec else None,
    )
    right = _chart(
        "CPU and memory of the process tree",
        labels,
        ("cores (mean / peak)", [s.cpu_mean_cores for s in steps], "#2ca02c"),
        ("peak GB", [s.memory_peak_gb for s in steps], "#9467bd"),
        left_extra=[s.cpu_peak_cores for s in steps],
    )
    summary = ""
    if rec is not None:
        summary = (
            f"<p><b>Recommendation:</b> {rec.cpu} cores, {rec.memory_in_gb} GB per replica "
            f"({rec.workers} worker(s))"
            + (f", {rec.replicas} replica(s) for {rec.target_rps} req/s" if rec.replicas else "")
            + f". p99 stays under {rec.latency_target_ms:g} ms up to concurrency "
            f"{rec.max_concurrency_within_target}.</p>"
        )
    rows = "".join(
        f"<tr><td>{s.concurrency}</td><td>{s.requests_per_second}</td><td>{s.latency_p50_ms}</td>"
        f"<td>{s.latency_p90_ms}</td><td>{s.latency_p99_ms}</td><td>{s.errors}</td>"
        f"<td>{s.cpu_mean_cores}</td><td>{s.cpu_peak_cores}</td><td>{s.memory_peak_gb}</td></tr>"
        for s in steps
    )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Profile {html.escape(name)}</title>
<style>body{{font-family:sans-serif;margin:24px}}td,th{{padding:2px 10px;text-align:right}}
svg{{margin-right:16px}}</style></head>
<body><h2>Profile {html.escape(name)}</h2>{summary}
<div>{left}{right}</div>
<table><tr><th>concurrency</th><th>req/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th>
<th>errors</th><th>CPU mean</th><th>CPU peak</th><th>peak GB</th></tr>{rows}</table>
</body></html>
"""


def _chart(
    title: str,
    labels: list[str],
    left: tuple[str, list[float], str],
    right: tuple[str, list[float], str],
    right_line: float | None = None,
    left_extra: list[float] | None = None,
) -> str:
    """Two series on their own y axes (left and right), sharing the x axis."""
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    n = max(1, len(labels))

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n)

    def scale(values: list[float], extra: float = 0.0) -> float:
        return max([*values, extra, 1e-9]) * 1.1

    lmax = scale(left[1] + (left_extra or []))
    rmax = scale(right[1], right_line or 0.0)

    def y(value: float, top: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-size="11">',
        f'<text x="{W / 2}" y="14" text-anchor="middle" font-weight="bold">{html.escape(title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    for i, label in enumerate(labels):
        parts.append(
            f'<text x="{x(i):.1f}" y="{TOP + plot_h + 14}" text-anchor="middle">{label}</text>'
        )
    parts.append(f'<text x="{W / 2}" y="{H - 6}" text-anchor="middle">concurrency</text>')
    for frac in (0.0, 0.5, 1.0):
        yy = TOP + plot_h * (1 - frac)
        parts.append(
            f'<text x="{LEFT - 4}" y="{yy + 4:.1f}" text-anchor="end" fill="{left[2]}">{_fmt(lmax * frac)}</text>'
        )
        parts.append(
            f'<text x="{W - RIGHT + 4}" y="{yy + 4:.1f}" fill="{right[2]}">{_fmt(rmax * frac)}</text>'
        )
    if right_line is not None:
        yy = y(right_line, rmax)
        parts.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{right[2]}" '
            f'stroke-dasharray="4 3"/><text x="{W - RIGHT - 4}" y="{yy - 3:.1f}" text-anchor="end" '
            f'fill="{right[2]}">target {right_line:g} ms</text>'
        )
    series = [(left[1], lmax, left[2], "")]
    if left_extra:
        series.append((left_extra, lmax, left[2], ' stroke-dasharray="2 2"'))
    series.append((right[1], rmax, right[2], ""))
    for values, top, color, dash in series:
        points = " ".join(f"{x(i):.1f},{y(v, top):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"{dash}/>'
        )
        parts.extend(
            f'<circle cx="{x(i):.1f}" cy="{y(v, top):.1f}" r="3" fill="{color}"/>'
            for i, v in enumerate(values)
        )
    parts.append(f'<text x="{LEFT}" y="{TOP - 4}" fill="{left[2]}">{html.escape(left[0])}</text>')
    parts.append(
        f'<text x="{W - RIGHT}" y="{TOP - 4}" text-anchor="end" fill="{right[2]}">{html.escape(right[0])}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: Any) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.2f}"
