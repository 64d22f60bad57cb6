"""Give freed heap memory back to the operating system after large request bodies.

A body arrives in many 64-256 KiB pieces. glibc serves pieces like these from its heap once
its mmap threshold has grown (it grows after large frees), and a heap holding a few live
objects above freed ones is never shrunk: a worker that once read 1 GB kept 1.4 GB resident.
`malloc_trim(0)` hands every free page of every arena back. It costs a fraction of a
millisecond to a few, so it runs only once TRIM_AFTER_BYTES of bodies were read since the
last trim. Elsewhere than glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

TRIM_AFTER_BYTES = 16 * 1024 * 1024


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


class HeapTrimmer:
    """Counts body bytes read; trims the heap once enough were read and freed."""

    __slots__ = ("_trim", "pending")

    def __init__(self) -> None:
        self.pending = 0
        self._trim = _malloc_trim()

    def release(self) -> None:
        """Call when the request's body is no longer referenced."""
        if self.pending >= TRIM_AFTER_BYTES:
            self.pending = 0
            if self._trim is not None:
                self._trim(0)
