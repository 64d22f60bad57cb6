"""Bearer keys and HS256 tokens for /score and V2 infer.

The keys file (`{"primary": ..., "secondary": ...}`) and the token secret are re-read when
their mtime or size changes, so a regenerated key rejects the old one on the next request.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

from modelport.errors import InvalidArgument

KEY_NAMES = ("primary", "secondary")


def parse_keys(text: str, path: str) -> list[bytes]:
    """The keys of a keys file's text: a JSON object with non-empty string primary and
    secondary keys. InvalidArgument (one line, naming the file) when it is anything else."""
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"Keys file {path} is not valid JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise InvalidArgument(
            f'Keys file {path} must hold a JSON object {{"primary": ..., "secondary": ...}}.'
        )
    unknown = sorted(set(data) - set(KEY_NAMES))
    if unknown:
        raise InvalidArgument(
            f"Keys file {path} has unknown key(s) {', '.join(unknown)}; only primary and secondary are read."
        )
    for name in KEY_NAMES:
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgument(
                f"Keys file {path}: {name}={value!r} is not valid: must be a non-empty string."
            )
    return [data[name].encode() for name in KEY_NAMES]


def read_keys_file(path: str) -> list[bytes]:
    """Read and check a keys file (at start-up: a malformed file is an error, not 401s)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"Keys file {path} cannot be read ({exc}).") from None
    return parse_keys(text, path)


def read_token_secret(path: str) -> str:
    """Read and check a token secret file (at start-up: it must not be empty)."""
    try:
        with open(path, encoding="utf-8") as f:
            secret = f.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"Token secret file {path} cannot be read ({exc}).") from None
    if not secret:
        raise InvalidArgument(f"Token secret file {path} is empty.")
    return secret


class _Watched:
    """A small file re-read only when its stat signature changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._sig: tuple[int, int, int] | None = None
        self.text = ""

    def current(self) -> str:
        try:
            st = os.stat(self.path)
        except OSError:
            self._sig, self.text = None, ""
            return ""
        sig = (st.st_mtime_ns, st.st_size, st.st_ino)  # a replaced file is a new inode
        if sig != self._sig:
            with open(self.path, encoding="utf-8") as f:
                self.text = f.read()
            self._sig = sig
        return self.text


class Authenticator:
    """`check(header)` returns None when allowed, else the message for the 401 body."""

    def __init__(self, keys_file: str | None, token_secret_file: str | None) -> None:
        self._keys = _Watched(keys_file) if keys_file else None
        self._secret = _Watched(token_secret_file) if token_secret_file else None
        self._keys_text: str | None = None
        self._key_values: list[bytes] = []

    def _current_keys(self) -> list[bytes]:
        if self._keys is None:
            return []
        text = self._keys.current()
        if text != self._keys_text:
            self._keys_text = text
            try:
                self._key_values = parse_keys(text, self._keys.path)
            except InvalidArgument:  # checked at start; broken since: fail closed
                self._key_values = []
        return self._key_values

    def check(self, header: bytes | None) -> str | None:
        what = " or ".join(
            w for w, on in (("key", self._keys), ("token", self._secret)) if on is not None
        )
        if not header:
            return f"Authorization header is missing; send 'Authorization: Bearer <{what}>'."
        scheme, _, credential = header.decode("latin-1").strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            return f"Authorization header must be 'Bearer <{what}>'."
        raw = credential.encode()
        for key in self._current_keys():
            if hmac.compare_digest(raw, key):
                return None
        if self._secret is not None and credential.count(".") == 2:
            return self._check_token(credential)
        if self._secret is not None and self._keys is None:
            return "The bearer token is not a valid JWT."
        return f"The {what} is not valid."

    def _check_token(self, token: str) -> str | None:
        import jwt

        assert self._secret is not None
        secret = self._secret.current().strip()
        if not secret:
            return "Token authentication is enabled but the token secret is missing."
        try:
            jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.ExpiredSignatureError:
            return "The token has expired; request a new one."
        except jwt.InvalidTokenError as exc:
            return f"The token is not valid: {exc}."
        return None
