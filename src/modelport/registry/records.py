"""Plain records that cross the metadata-store boundary.

They hold only JSON-safe values so a store can live behind HTTP later without changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ModelRecord:
    name: str
    version: int
    root_name: str
    is_dir: bool
    files: list[dict[str, Any]]
    description: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    resource_configuration: dict[str, Any] | None = None
    sample_input_dataset: str | None = None
    sample_output_dataset: str | None = None
    run_id: str | None = None
    experiment_name: str | None = None
    created_time: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunRecord:
    id: str
    experiment_name: str
    status: str
    start_time: float
    end_time: float | None = None
    parent_id: str | None = None
    name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def select_models(
    bodies: Iterable[str],
    tags: Sequence[tuple[str, str | None]] = (),
    properties: Sequence[tuple[str, str | None]] = (),
    latest: bool = False,
) -> list[ModelRecord]:
    """Stored model bodies (ordered by name, then newest version first) filtered as
    `MetadataStore.list_models` promises, newest first; `(key, None)` matches any value."""
    found: list[ModelRecord] = []
    seen: set[str] = set()
    for body in bodies:
        record = ModelRecord(**json.loads(body))
        if latest:
            if record.name in seen:
                continue
            seen.add(record.name)
        if _matches(record.tags, tags) and _matches(record.properties, properties):
            found.append(record)
    found.sort(key=lambda r: r.created_time, reverse=True)
    return found


def _matches(values: dict[str, str], wanted: Sequence[tuple[str, str | None]]) -> bool:
    return all(k in values and (v is None or values[k] == v) for k, v in wanted)
