"""Webhook signatures: HMAC-SHA256 over `"<timestamp>.<body>"`, as Stripe signs.

The request carries `Modelport-Signature: t=<unix seconds>,v1=<hex digest>`. A receiver
recomputes the digest with its secret over the timestamp, a dot and the raw body bytes,
compares in constant time, and refuses timestamps older than its tolerance (replays).
Standard library only, so a receiver can copy this file or import it without modelport's
dependencies.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Modelport-Signature"
TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `Modelport-Signature` header value for `body`, signed now (or at `timestamp`)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={signature(secret, t, body)}"


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    tolerance_s: float = TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True when `header` signs `body` with `secret` within `tolerance_s` of now."""
    if not header:
        return False
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance_s:
        return False
    expected = signature(secret, t, body)
    return any(hmac.compare_digest(expected, v) for v in parts.get("v1", []))
