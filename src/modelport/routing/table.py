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
DECK = 1000  # cards a weighted-choice deck holds: shares resolve to 0.1%
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
    admin_token_file: str | None = None  # a router pod: who may PUT /-/table
    _live: tuple[tuple[float, Upstream], ...] = field(default=(), compare=False)
    _shadows: tuple[Upstream, ...] = field(default=(), compare=False)
    _deck: list[Upstream] = field(default_factory=list, compare=False)  # choose() deals it

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
        """A version by weight; the default when no version has live traffic.

        Dealt from a shuffled deck of `DECK` cards, each version holding its share of them
        (largest remainder): the order is random, so no pattern of callers lines up with a
        version, yet every full deck splits exactly, so a 70/30 split over 2,000 requests is
        70/30 to a card, not 70/30 give or take a few points of chance."""
        if not self._live:
            return self.versions[self.default]
        deck: list[Upstream] = self._deck
        if not deck:
            deck.extend(_cards(self._live))
            rng.shuffle(deck)
        return deck.pop()

    def shadows_for(self, rng: random.Random, primary: Upstream) -> list[Upstream]:
        """The shadow versions this request is copied to (each by its own percentage)."""
        return [
            u for u in self._shadows if u.name != primary.name and rng.random() * 100 < u.shadow
        ]


def _cards(live: tuple[tuple[float, Upstream], ...]) -> list[Upstream]:
    """`DECK` cards shared by weight, the remainders going to the largest fractions."""
    total = live[-1][0]
    exact = [(u, u.weight * DECK / total) for _, u in live]
    counts = {u.name: int(share) for u, share in exact}
    left = DECK - sum(counts.values())
    for u, _ in sorted(exact, key=lambda e: e[1] - int(e[1]), reverse=True)[:left]:
        counts[u.name] += 1
    return [u for u, _ in exact for _ in range(counts[u.name])]


def write_table(folder: Path, table: RoutingTable) -> None:
    """Replace the table atomically; owner-only, since it holds upstream credentials."""
    write_json(folder / TABLE, table.to_dict(), private=True)


def read_table(folder: Path) -> RoutingTable:
    return RoutingTable.from_dict(json.loads((folder / TABLE).read_text()))


def read_json(path: Path) -> dict[str, Any]:
    """A state file of the router's, or {} while there is none."""
    return _jsonfile.read_json(path) or {}


write_json = _jsonfile.write_json
