"""v1 names modelport accepts without acting on them, and the few it cannot offer.

Ported v1 code must not stop on an AttributeError: a name either works, is accepted and
ignored with one warning line saying why (`ignored`), or exists and raises one error line
saying what to do instead (`unsupported`, marked so `modelport migrate check` and the
coverage table's test can tell it from a working name).
"""

from __future__ import annotations

import copy
import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from modelport.errors import UserError

F = TypeVar("F", bound=Callable[..., Any])
UNSUPPORTED_MARK = "__modelport_unsupported__"


class IgnoredWarning(UserWarning):
    """A v1 argument or setting modelport accepts but does not act on (the message says why)."""


class Unsupported(UserError):
    """A v1 name modelport keeps only to say, in one line, what to do instead."""


def ignored(what: str, why: str, stacklevel: int = 3) -> None:
    """Warn once per call site that `what` has no effect, and why."""
    warnings.warn(f"{what} is ignored: {why}", IgnoredWarning, stacklevel=stacklevel)


def unsupported(why: str, hint: str | None = None) -> Callable[[F], F]:
    """Make a v1 method that raises `Unsupported(why)`; its body is never run."""

    def wrap(func: F) -> F:
        name = func.__qualname__

        @functools.wraps(func)
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise Unsupported(f"{name} is not supported: {why}", hint=hint)

        setattr(refuse, UNSUPPORTED_MARK, why)
        return refuse  # type: ignore[return-value]

    return wrap


def is_unsupported(value: Any) -> bool:
    """True for a method made by `unsupported` (also through staticmethod/classmethod)."""
    func = getattr(value, "__func__", value)
    return hasattr(func, UNSUPPORTED_MARK)


class IgnoredSetting:
    """A v1 attribute that is kept but has no effect: reading gives what was set (or the
    default), setting anything but the default warns once with `why`."""

    def __init__(self, default: Any, why: str) -> None:
        self.default = default
        self.why = why
        self.name = ""
        self.owner = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.owner = owner.__name__

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        if self.name not in obj.__dict__:
            obj.__dict__[self.name] = copy.copy(self.default)  # a fresh list per instance
        return obj.__dict__[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        if value != self.default:
            ignored(f"{self.owner}.{self.name}", self.why)
        obj.__dict__[self.name] = value
