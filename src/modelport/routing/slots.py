"""Each router server process's state file: `servers/<slot>.json`.

The supervisor runs N server processes ("slots") on one listening socket. Each process saves
here the routing revision it serves, its requests in flight per version and its counters
(`RouterMetrics.dump`), whenever they changed, at most every `SAVE_EVERY_S`. That gives:

- a drain across processes: after a change every slot's file shows the new revision; a
  file written at or after that revision never counts a request to a removed version up again,
  so the sum of in-flight counts over live slots reaching 0 means drained;
- counts that survive a restart: a server restarted in slot k loads slot k's counters;
- `/metrics` and `/-/routing` for the endpoint, not for whichever process answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport._procs import process_alive
from modelport.routing.table import read_json, write_json

SERVERS = "servers"
SAVE_EVERY_S = 0.1


def slot_path(folder: Path, slot: int) -> Path:
    return folder / SERVERS / f"{slot}.json"


def save(folder: Path, slot: int, data: dict[str, Any]) -> None:
    write_json(slot_path(folder, slot), data)


def load(folder: Path, slot: int) -> dict[str, Any]:
    return read_json(slot_path(folder, slot))


def live_slots(folder: Path, slots: int, skip: int | None = None) -> list[dict[str, Any]]:
    """The state of each slot whose process is alive (a dead one's in-flight died with it)."""
    out = []
    for slot in range(slots):
        if slot == skip:
            continue
        data = load(folder, slot)
        if data and process_alive(data.get("pid"), data.get("started")):
            out.append(data)
    return out


def applied_everywhere(folder: Path, slots: int, revision: int) -> bool:
    """Every slot's live process serves `revision` or later."""
    states = live_slots(folder, slots)
    return len(states) == slots and all(int(s.get("revision", -1)) >= revision for s in states)
