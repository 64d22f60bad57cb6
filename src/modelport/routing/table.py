"""The routing table: the one file the control plane writes and the router reads.

Written atomically (write a private temporary file, rename), so the router always reads a
whole table, never half of one; `revision` grows with every write, and the router publishes
the revision it serves in `applied.json` beside it so the control plane knows when a change
has taken effect.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport import _jsonfile

TABLE = "routes.json"
APPLIED = "applied.json"
STATUS = "status.json"
VERSION_HEADER = "x-modelport-version"  # names the version that answered; a request may set it
VERSION_QUERY = "modelport-version"  # the same as a query flag (stripped before forwarding)


@dataclass(frozen=True)
class Upstream:
    """One version as the router sees it."""

    name: str
    url: str  # base URL, no trailing slash
    weight: float = 0.0  # percent of live traffic
    shadow: float = 0.0  # percent of live requests copied to it
    authorization: str | None = None  # what the router sends upstream
    control: bool = False


@dataclass(frozen=True)
class RoutingTable:
    revision: int
    endpoint: str
    default: str
    versions: dict[str, Upstream]
    keys_file: str | None = None
    token_secret_file: str | None = None
    shadow_queue: int = 1000
    shadow_workers: int = 4
    sink: str | None = None
    sink_max_bytes: int = 10_000_000
    sink_backups: int = 3
    max_body_bytes: int = 100 * 2**20
    _live: tuple[tuple[float, Upstream], ...] = field(default=(), compare=False)
    _shadows: tuple[Upstream, ...] = field(default=(), compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoutingTable:
        versions = {v["name"]: Upstream(**v) for v in data["versions"]}
        options = {k: v for k, v in data.items() if k not in ("versions",)}
        table = cls(versions=versions, **options)
        running, live = 0.0, []
        for upstream in versions.values():
            if upstream.weight > 0:
                running += upstream.weight
                live.append((running, upstream))
        object.__setattr__(table, "_live", tuple(live))
        object.__setattr__(table, "_shadows", tuple(u for u in versions.values() if u.shadow > 0))
        return table

    def to_dict(self) -> dict[str, Any]:
        data = {
            k: getattr(self, k)
            for k in self.__dataclass_fields__
            if not k.startswith("_") and k != "versions"
        }
        data["versions"] = [vars(u) for u in self.versions.values()]
        return data

    def choose(self, rng: random.Random) -> Upstream:
        """A version by weight; the default when no version has live traffic."""
        if not self._live:
            return self.versions[self.default]
        point = rng.random() * self._live[-1][0]
        for bound, upstream in self._live:
            if point < bound:
                return upstream
        return self._live[-1][1]

    def shadows_for(self, rng: random.Random, primary: Upstream) -> list[Upstream]:
        """The shadow versions this request is copied to (each by its own percentage)."""
        return [
            u for u in self._shadows if u.name != primary.name and rng.random() * 100 < u.shadow
        ]


def write_table(folder: Path, table: RoutingTable) -> None:
    """Replace the table atomically; owner-only, since it holds upstream credentials."""
    write_json(folder / TABLE, table.to_dict(), private=True)


def read_table(folder: Path) -> RoutingTable:
    return RoutingTable.from_dict(json.loads((folder / TABLE).read_text()))


def read_json(path: Path) -> dict[str, Any]:
    """A state file of the router's, or {} while there is none."""
    return _jsonfile.read_json(path) or {}


write_json = _jsonfile.write_json
