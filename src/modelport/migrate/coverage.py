"""The coverage table (`coverage.toml`): what modelport offers of each Azure ML v1 name."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

SUPPORTED, IGNORED, UNSUPPORTED = "supported", "ignored", "unsupported"
STATUSES = (SUPPORTED, IGNORED, UNSUPPORTED)


@dataclass(frozen=True)
class Status:
    """`supported`, `ignored` or `unsupported`, with why (or, for supported, what differs)."""

    status: str
    why: str = ""


@dataclass(frozen=True)
class Member:
    """An attribute or method of a class, or a function: its status, keywords and result."""

    name: str
    status: Status
    kind: str  # "attribute", "method" or "function"
    returns: str | None = None  # a class key; "[Key]" for a list of them
    keywords: dict[str, Status] = field(default_factory=dict)


@dataclass(frozen=True)
class ClassEntry:
    name: str
    modules: tuple[str, ...]
    to: str | None
    status: Status
    attributes: dict[str, Member]
    methods: dict[str, Member]

    def member(self, name: str) -> Member | None:
        return self.methods.get(name) or self.attributes.get(name)

    @property
    def constructor(self) -> Member | None:
        return self.methods.get("()")


@dataclass(frozen=True)
class ModuleEntry:
    name: str
    status: Status
    to: str | None = None
    rewrite: bool = True
    prefix: bool = False


@dataclass(frozen=True)
class Coverage:
    modules: dict[str, ModuleEntry]
    names: dict[str, Member]  # "azureml.x.name" -> function, constant or exception
    classes: dict[str, ClassEntry]
    # class key -> members that behave differently inside a service (entry scripts)
    service: dict[str, ClassEntry] = field(default_factory=dict)

    def member(self, cls: str, name: str, *, in_service: bool = False) -> Member | None:
        """A class member; in an entry script the service stand-in's entry wins."""
        if in_service and cls in self.service:
            found = self.service[cls].member(name)
            if found is not None:
                return found
        return self.classes[cls].member(name)

    def module(self, dotted: str) -> ModuleEntry | None:
        """The entry for a v1 module: its own, or that of the nearest `prefix` ancestor."""
        if dotted in self.modules:
            return self.modules[dotted]
        parts = dotted.split(".")
        for end in range(len(parts) - 1, 0, -1):
            entry = self.modules.get(".".join(parts[:end]))
            if entry is not None and entry.prefix:
                return entry
        return None

    def exported(self, module: str, name: str) -> ClassEntry | Member | None:
        """What `from <module> import <name>` binds, if the table knows it."""
        found = self.classes.get(name)
        if found is not None and module in found.modules:
            return found
        return self.names.get(f"{module}.{name}")

    def target_module(self, v1_module: str) -> str | None:
        """Where `migrate apply` points an import of `v1_module`; None leaves it as it is."""
        entry = self.modules.get(v1_module)
        if entry is None or not entry.rewrite or entry.status.status == UNSUPPORTED:
            return None
        return entry.to


def parse_status(text: str, defaults: dict[str, str] | None = None) -> Status:
    """`"ignored: why"` → Status("ignored", "why"); a bare status takes the class default."""
    status, _, why = text.partition(":")
    status = status.strip()
    if status not in STATUSES:
        raise ValueError(f"coverage.toml: unknown status {text!r}; use one of {STATUSES}")
    why = why.strip() or (defaults or {}).get(status, "")
    return Status(status, why)


@cache
def load() -> Coverage:
    """The table shipped in the package, parsed once."""
    text = resources.files("modelport.migrate").joinpath("coverage.toml").read_text("utf-8")
    return from_dict(tomllib.loads(text))


def from_dict(data: dict[str, Any]) -> Coverage:
    modules = {
        name: ModuleEntry(
            name,
            parse_status(raw["status"]),
            raw.get("to"),
            raw.get("rewrite", True),
            raw.get("prefix", False),
        )
        for name, raw in data.get("modules", {}).items()
    }
    names = {key: _member(key, raw, "function", {}) for key, raw in data.get("names", {}).items()}
    classes = {key: _class(key, raw) for key, raw in data.get("classes", {}).items()}
    service = {
        key: _class(key, {"status": "supported", **raw})
        for key, raw in data.get("service", {}).items()
    }
    return Coverage(modules, names, classes, service)


def _class(key: str, raw: dict[str, Any]) -> ClassEntry:
    defaults = {
        UNSUPPORTED: raw.get("unsupported_why", ""),
        IGNORED: raw.get("ignored_why", ""),
    }
    attributes = {
        n: _member(n, v, "attribute", defaults) for n, v in raw.get("attributes", {}).items()
    }
    methods = {n: _member(n, v, "method", defaults) for n, v in raw.get("methods", {}).items()}
    return ClassEntry(
        key,
        tuple(raw.get("modules", ())),
        raw.get("to"),
        parse_status(raw["status"], defaults),
        attributes,
        methods,
    )


def _member(name: str, raw: str | dict[str, Any], kind: str, defaults: dict[str, str]) -> Member:
    if isinstance(raw, str):
        return Member(name, parse_status(raw, defaults), kind)
    keywords = {k: parse_status(v, defaults) for k, v in raw.get("keywords", {}).items()}
    return Member(name, parse_status(raw["status"], defaults), kind, raw.get("returns"), keywords)
