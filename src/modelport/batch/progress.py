"""Progress of one step: counted by the driver, written to `progress.json`, drawn by waiters.

The driver owns the numbers; `wait_for_completion` in any process reads the file and draws
one line (files or rows done, rate, ETA, failures), so watching never slows the run.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelport.batch.journal import Entry
from modelport.batch.plan import MiniBatch

_WRITE_EVERY = 0.25
_LOG_EVERY = 10.0


class Progress:
    def __init__(
        self, path: Path, batches: list[MiniBatch], reused: dict[int, Entry], unit: str
    ) -> None:
        self.path = path
        self.unit = unit
        self.total_batches = len(batches)
        self.total_weight = sum(b.weight for b in batches)
        self.done_batches = len(reused)
        by_index = {b.index: b for b in batches}  # a shard's batches are a slice of the plan
        self.done_weight = sum(by_index[i].weight for i in reused)
        self.items = sum(e.items for e in reused.values())
        self.failures = sum(e.failures for e in reused.values())
        self.reused_weight = self.done_weight
        self.started = time.monotonic()
        self._written = 0.0
        self._logged = time.monotonic()
        self.write("Running")

    def add(self, batch: MiniBatch, entry: Entry) -> None:
        self.done_batches += 1
        self.done_weight += batch.weight
        self.items += entry.items

    def maybe_write(self, failures: int, log: Callable[[str], None]) -> None:
        self.failures = failures
        now = time.monotonic()
        if now - self._written >= _WRITE_EVERY:
            self.write("Running")
        if now - self._logged >= _LOG_EVERY:
            self._logged = now
            log(render(self.snapshot("Running")))

    def finish(self) -> None:
        self.write("Finished")

    def snapshot(self, state: str) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        fresh = self.done_weight - self.reused_weight
        rate = fresh / elapsed
        left = self.total_weight - self.done_weight
        return {
            "state": state,
            "unit": self.unit,
            "weight_unit": "files" if self.unit == "files" else "bytes",
            "done_batches": self.done_batches,
            "total_batches": self.total_batches,
            "done_weight": self.done_weight,
            "total_weight": self.total_weight,
            "items": self.items,
            "failures": self.failures,
            "rate": rate,
            "item_rate": (self.items / elapsed) if self.unit == "rows" else rate,
            "eta": (left / rate) if rate > 0 else None,
            "elapsed": elapsed,
        }

    def write(self, state: str) -> None:
        self._written = time.monotonic()
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(self.snapshot(state)), encoding="utf-8")
        os.replace(tmp, self.path)


def read(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data


def render(p: dict[str, Any], width: int = 24) -> str:
    """`[#####-----] 412/1000 files  41%  83.1 files/s  ETA 7s  failures 0`."""
    total = max(p["total_weight"], 1)
    frac = min(p["done_weight"] / total, 1.0)
    bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
    if p["unit"] == "files":
        count = f"{p['done_weight']}/{p['total_weight']} files"
    else:
        count = f"{p['items']} rows ({_size(p['done_weight'])}/{_size(p['total_weight'])})"
    eta = "" if p["eta"] is None else f"  ETA {_duration(p['eta'])}"
    return (
        f"[{bar}] {count} {frac:4.0%}  {p['item_rate']:.1f} {p['unit']}/s{eta}  "
        f"failures {p['failures']}"
    )


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}GB"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
