"""The router's parts without processes: the weighted choice, the routing rules, the
shadow sink's rotation."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

import pytest

from modelport.deploy.endpoint import check_routing, weights
from modelport.errors import InvalidArgument
from modelport.routing.app import RequestIds
from modelport.routing.shadow import PairSink
from modelport.routing.table import RoutingTable


def _table(**weights_: float) -> RoutingTable:
    versions = [
        {"name": n, "url": f"http://127.0.0.1:1/{n}", "weight": w} for n, w in weights_.items()
    ]
    return RoutingTable.from_dict(
        {"revision": 1, "endpoint": "e", "default": "a", "versions": versions}
    )


def test_the_weighted_choice_follows_the_weights() -> None:
    rng = random.Random(7)
    table = _table(a=70, b=30, s=0)
    picks = [table.choose(rng).name for _ in range(20_000)]
    assert "s" not in picks
    assert picks.count("b") == 6000  # every deck of 1,000 splits exactly
    assert 0 < picks[:100].count("b") < 100  # in a random order
    thirds = _table(a=100 / 3, b=100 / 3, c=100 / 3)
    dealt = [thirds.choose(rng).name for _ in range(1000)]
    assert sorted(dealt.count(n) for n in "abc") == [333, 333, 334]
    assert {_table(a=0, b=0).choose(rng).name for _ in range(10)} == {"a"}  # none live: default


def _v(name: str, traffic: float = 0, default: bool = False, shadow: float = 0) -> dict:
    return {
        "name": name,
        "traffic_percentile": traffic,
        "is_default": default,
        "is_control_version": False,
        "shadow_percentile": shadow,
    }


def test_the_default_takes_what_the_others_leave() -> None:
    versions = {"a": _v("a", 20, default=True), "b": _v("b", 30), "s": _v("s", shadow=50)}
    check_routing("e", versions)
    assert weights(versions) == {"a": 70, "b": 30, "s": 0}


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ({"a": _v("a", 101, default=True)}, "outside 0-100"),
        ({"a": _v("a", default=True), "b": _v("b", 60), "c": _v("c", 50)}, "at most 100%"),
        ({"a": _v("a", default=True), "b": _v("b", default=True)}, "two default"),
        ({"a": _v("a")}, "no default"),
        ({"a": _v("a", default=True), "b": _v("b", 10, shadow=5)}, "shadow and also"),
        ({"a": _v("a", default=True, shadow=5)}, "it is the default"),
        ({"a": _v("a", float("nan"), default=True)}, "not a number"),
    ],
)
def test_routing_rules(versions: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check_routing("e", versions)


def test_the_sink_rotates_and_keeps_its_backups(tmp_path: Path) -> None:
    sink = PairSink(tmp_path / "shadow.jsonl", max_bytes=200, backups=2)
    for i in range(40):
        sink.write({"request_id": str(i), "equal": True})
    sink.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["shadow.jsonl", "shadow.jsonl.1", "shadow.jsonl.2"]
    ids = [
        json.loads(line)["request_id"]
        for name in ("shadow.jsonl.2", "shadow.jsonl.1", "shadow.jsonl")
        for line in (tmp_path / name).read_text().splitlines()
    ]
    assert ids == [str(i) for i in range(40 - len(ids), 40)]  # the newest, in order
    assert all((tmp_path / n).stat().st_size <= 260 for n in files)


def test_request_ids_are_random_uuids() -> None:
    ids = RequestIds()
    made = [ids.next().decode() for _ in range(3 * RequestIds.BATCH)]  # across batches
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)
