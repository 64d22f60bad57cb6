"""Names of registry objects (models, experiments, datasets, profiles, …)."""

from __future__ import annotations

import re

from modelport.errors import InvalidArgument

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


def validate_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidArgument(
            f"Invalid {kind} name {name!r}: use 1-255 characters from A-Z a-z 0-9 _ . - , "
            "starting with a letter or digit."
        )
    return name
