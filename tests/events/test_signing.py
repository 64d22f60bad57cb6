"""The documented signature scheme: HMAC-SHA256 over "<t>.<body>", header t=…,v1=…."""

from __future__ import annotations

import hashlib
import hmac

from modelport.core.webhook import verify_signature
from modelport.events.signing import sign


def test_the_header_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"id":1}'
    header = sign("k", body, timestamp=1_700_000_000)
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify_signature("k", header, body, now=1_700_000_100)


def test_tampering_wrong_secrets_and_replays_are_refused() -> None:
    body = b'{"id":1}'
    header = sign("k", body, timestamp=1_700_000_000)
    assert not verify_signature("k", header, b'{"id":2}', now=1_700_000_000)
    assert not verify_signature("other", header, body, now=1_700_000_000)
    assert not verify_signature("k", header, body, now=1_700_000_000 + 301)  # too old
    assert not verify_signature("k", None, body)
    assert not verify_signature("k", "v1=abc", body)
    assert not verify_signature("k", "t=x,v1=abc", body)
