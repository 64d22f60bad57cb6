"""`azureml.telemetry` equivalent: modelport never sends telemetry, so this does nothing.

v1 notebooks start with `set_diagnostics_collection(send_diagnostics=True)`; the call is
accepted so they run unchanged, and nothing is collected, written or sent.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["set_diagnostics_collection"]


def set_diagnostics_collection(
    send_diagnostics: bool = True,
    verbosity: int = logging.INFO,
    reason: str = "",
    path: str | None = None,
    **_unused: Any,
) -> None:
    """A no-op kept for v1 code; returns None (v1 returned the telemetry file's path)."""
    return None
