"""Service credentials: two static keys, or short-lived HS256 tokens.

Both live in files beside the service with owner-only permissions; the scoring server re-reads
them when they change, so a regenerated key stops working on the next request.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

from modelport._jsonfile import write_private_text
from modelport.errors import InvalidArgument

TOKEN_LIFETIME_S = 3600
REFRESH_MARGIN_S = 300


_write_private = write_private_text


def new_key() -> str:
    return secrets.token_urlsafe(32)


def ensure_keys(
    path: Path, primary: str | None = None, secondary: str | None = None
) -> dict[str, str]:
    """Create the keys file if missing (or with the given keys); return the keys."""
    if path.exists() and primary is None and secondary is None:
        return read_keys(path)
    keys = {"primary": primary or new_key(), "secondary": secondary or new_key()}
    _write_private(path, json.dumps(keys))
    return keys


def read_keys(path: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads(path.read_text())
    return data


def regen_key(path: Path, key: str, set_key: str | None = None) -> dict[str, str]:
    """Replace the Primary or Secondary key (Azure's names, any case)."""
    keys = regenerated(read_keys(path), key, set_key)
    _write_private(path, json.dumps(keys))
    return keys


def regenerated(keys: dict[str, str], key: str, set_key: str | None = None) -> dict[str, str]:
    """`keys` with the Primary or Secondary key (Azure's names, any case) replaced."""
    which = key.lower()
    if which not in ("primary", "secondary"):
        raise InvalidArgument(f"Unknown key {key!r}.", hint="Use 'Primary' or 'Secondary'.")
    return {**keys, which: set_key or new_key()}


def ensure_token_secret(path: Path) -> str:
    if not path.exists():
        _write_private(path, new_token_secret())
    return path.read_text().strip()


def issue_token(
    secret_path: Path, service_name: str, lifetime_s: int = TOKEN_LIFETIME_S
) -> tuple[str, datetime]:
    """A signed JWT for the service and when to refresh it (before it expires), as v1 returns."""
    return sign_token(ensure_token_secret(secret_path), service_name, lifetime_s)


def new_token_secret() -> str:
    return secrets.token_hex(32)


def sign_token(
    secret: str, service_name: str, lifetime_s: int = TOKEN_LIFETIME_S
) -> tuple[str, datetime]:
    """`issue_token` with the secret in hand (a target that keeps it elsewhere than a file)."""
    import jwt

    now = int(time.time())
    claims = {"iss": "modelport", "sub": service_name, "iat": now, "exp": now + lifetime_s}
    token = jwt.encode(claims, secret, algorithm="HS256")
    refresh_after = datetime.fromtimestamp(now + lifetime_s - REFRESH_MARGIN_S, tz=UTC)
    return token, refresh_after
