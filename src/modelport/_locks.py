"""One inter-process lock per named thing (a service, a dataset, a profile) in a workspace."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def named_lock(folder: Path, name: str, *, shared: bool = False) -> Iterator[None]:
    """Hold `folder/.locks/<name>.lock` (exclusively, or shared with other shared holders);
    released on exit, and by the kernel when the holder dies, even by SIGKILL."""
    locks = folder / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def try_named_lock(folder: Path, name: str) -> Iterator[bool]:
    """Like `named_lock`, without waiting: yields False when someone holds it (this process
    included, through another `named_lock`)."""
    locks = folder / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
