"""Splitting the input into mini-batches, deterministically, so a resumed run sees the same plan.

Files: N paths per mini-batch, in input order. Delimited files: byte ranges of about the
mini-batch size that end on a line break and never cross a file (as v1's TabularDataset
partitioning); the worker parses its range with the file's header row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from modelport.batch.spec import FILES, HEADER_ALL, HEADER_FIRST, BatchSpec


@dataclass(frozen=True)
class MiniBatch:
    """One unit of work; `task()` is what the worker receives."""

    index: int
    files: tuple[str, ...] = ()
    path: str = ""
    start: int = 0
    end: int = 0
    header: bytes | None = None

    @property
    def weight(self) -> int:
        """Files, or bytes, for the progress bar."""
        return len(self.files) if self.files else self.end - self.start

    def task(self) -> dict[str, Any]:
        if self.files:
            return {"i": self.index, "files": list(self.files)}
        return {
            "i": self.index,
            "path": self.path,
            "start": self.start,
            "end": self.end,
            "header": self.header.decode("utf-8", "surrogateescape") if self.header else None,
        }

    def describe(self) -> str:
        """Names the inputs for error messages: the files, or the byte range of one file."""
        if self.files:
            shown = ", ".join(os.path.basename(f) for f in self.files[:5])
            more = f" and {len(self.files) - 5} more" if len(self.files) > 5 else ""
            return f"mini-batch {self.index} ({shown}{more})"
        return (
            f"mini-batch {self.index} ({os.path.basename(self.path)} bytes {self.start}-{self.end})"
        )

    def input_names(self) -> list[str]:
        if self.files:
            return list(self.files)
        return [f"{self.path}:{self.start}-{self.end}"]


def plan(spec: BatchSpec) -> list[MiniBatch]:
    if spec.input_kind == FILES:
        size = spec.mini_batch_size
        return [
            MiniBatch(index=n, files=tuple(spec.inputs[i : i + size]))
            for n, i in enumerate(range(0, len(spec.inputs), size))
        ]
    batches: list[MiniBatch] = []
    first_header: bytes | None = None
    for k, path in enumerate(spec.inputs):
        with open(path, "rb") as f:
            has_header = spec.header == HEADER_ALL or (spec.header == HEADER_FIRST and k == 0)
            header = f.readline() if has_header else None
            if k == 0:
                first_header = header
            if spec.header == HEADER_FIRST:
                header = first_header
            data_start = len(header) if has_header and header else 0
            for start, end in _ranges(f, data_start, os.fstat(f.fileno()).st_size, spec):
                batches.append(
                    MiniBatch(len(batches), path=path, start=start, end=end, header=header)
                )
    return batches


def _ranges(f: Any, pos: int, size: int, spec: BatchSpec) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    while pos < size:
        target = pos + spec.mini_batch_size
        if target >= size:
            end = size
        else:
            f.seek(target - 1)
            # a range ends after a line break; seeking to target-1 keeps a range that
            # already ends exactly on one from swallowing the next line
            end = target - 1 + len(f.readline())
        if end > pos:
            out.append((pos, end))
        pos = end
    return out
