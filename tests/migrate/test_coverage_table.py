"""The coverage table against the code: a name it calls supported must exist in modelport.

Ignored keywords must be accepted, unsupported ones must not be; an unsupported module that
has since appeared in modelport fails here, so the table (and docs/migration.md) is updated.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from typing import Any

import pytest

from modelport._ignored import is_unsupported
from modelport.migrate.coverage import IGNORED, SUPPORTED, UNSUPPORTED, Member, load

COVERAGE = load()


def import_target(v1_module: str) -> str | None:
    """Where an import of v1_module ends up: apply's target, or the service stand-in it keeps."""
    entry = COVERAGE.modules.get(v1_module)
    if entry is not None and not entry.rewrite:
        return entry.to
    return COVERAGE.target_module(v1_module)


def resolve(target: str) -> Any:
    module, _, attrs = target.partition(":")
    value: Any = importlib.import_module(module)
    for attr in filter(None, attrs.split(".")):
        value = getattr(value, attr)
    return value


def instance_attributes(cls: type) -> set[str]:
    """Names a class sets on `self` anywhere in its MRO, plus annotated fields."""
    names: set[str] = set()
    for klass in cls.__mro__[:-1]:
        names |= set(getattr(klass, "__annotations__", {}))
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                names.add(node.attr)
    return names


def has_member(cls: Any, name: str) -> bool:
    """Present and working: a name kept only to refuse in one line (`_ignored.unsupported`)
    counts as absent, as the table calls it unsupported."""
    if isinstance(cls, type) and is_unsupported(inspect.getattr_static(cls, name, None)):
        return False
    return hasattr(cls, name) or (isinstance(cls, type) and name in instance_attributes(cls))


def accepts(func: Any) -> tuple[set[str], bool]:
    params = inspect.signature(func).parameters.values()
    named = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    return named, any(p.kind == p.VAR_KEYWORD for p in params)


def check_keywords(func: Any, member: Member, label: str) -> list[str]:
    named, var_keyword = accepts(func)
    problems = []
    for keyword, status in member.keywords.items():
        if status.status == SUPPORTED and keyword not in named:
            problems.append(f"{label}({keyword}=) is supported but not a named parameter")
        if status.status == IGNORED and keyword not in named and not var_keyword:
            problems.append(f"{label}({keyword}=) is ignored but not accepted")
        if status.status == UNSUPPORTED and (keyword in named or var_keyword):
            problems.append(f"{label}({keyword}=) is unsupported but accepted: supported/ignored?")
    return problems


@pytest.mark.parametrize("key", sorted(COVERAGE.classes))
def test_class_members_match_modelport(key: str) -> None:
    entry = COVERAGE.classes[key]
    assert entry.to, f"{key}: no `to`"
    cls = resolve(entry.to)
    problems = []
    for name, member in {**entry.attributes, **entry.methods}.items():
        label = f"{key}.{name}"
        present = name == "()" or has_member(cls, name)
        if member.status.status != UNSUPPORTED and not present:
            problems.append(f"{label} is {member.status.status} but modelport has no {name}")
        if member.status.status == UNSUPPORTED and present:
            problems.append(f"{label} is unsupported but modelport has it: update the table")
        if member.status.status != UNSUPPORTED and member.kind == "method" and member.keywords:
            func = cls if name == "()" else getattr(cls, name)
            problems += check_keywords(func, member, label)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("key", sorted(COVERAGE.classes))
def test_class_is_importable_where_apply_points(key: str) -> None:
    entry = COVERAGE.classes[key]
    for module in entry.modules:
        target = import_target(module)
        assert target, f"{key} is exported by {module}, which has no modelport module"
        assert hasattr(importlib.import_module(target), key), f"{target} has no {key}"


@pytest.mark.parametrize("key", sorted(COVERAGE.names))
def test_names_exist_or_are_marked_unsupported(key: str) -> None:
    member = COVERAGE.names[key]
    module, _, name = key.rpartition(".")
    target = import_target(module)
    if member.status.status == UNSUPPORTED:
        present = target is not None and hasattr(importlib.import_module(target), name)
        assert not present, f"{key} is unsupported but {target}.{name} exists: update the table"
        return
    assert target and hasattr(importlib.import_module(target), name), f"{target} has no {name}"
    func = resolve(f"{target}:{name}")
    if member.keywords:
        assert not check_keywords(func, member, key)


@pytest.mark.parametrize("key", sorted(COVERAGE.modules))
def test_modules_exist_exactly_when_supported(key: str) -> None:
    entry = COVERAGE.modules[key]
    if entry.status.status == UNSUPPORTED:
        if entry.to:
            with pytest.raises(ModuleNotFoundError):
                importlib.import_module(entry.to)  # it exists now: mark it supported
        return
    assert entry.to, f"{key} is {entry.status.status} but names no modelport module"
    importlib.import_module(entry.to)


@pytest.mark.parametrize("key", sorted(COVERAGE.service))
def test_service_stand_ins_have_their_members(key: str) -> None:
    import modelport.migrate.coverage as coverage_module

    raw = coverage_module.tomllib.loads(
        coverage_module.resources.files("modelport.migrate").joinpath("coverage.toml").read_text()
    )
    cls = resolve(raw["service"][key]["to"])
    for name in COVERAGE.service[key].methods:
        assert hasattr(cls, name), f"service stand-in {key} has no {name}"


def test_every_status_is_valid_and_unsupported_says_why() -> None:
    missing = []
    for cls in COVERAGE.classes.values():
        for member in [*cls.attributes.values(), *cls.methods.values()]:
            statuses = [member.status, *member.keywords.values()]
            missing += [
                f"{cls.name}.{member.name}" for s in statuses if s.status != SUPPORTED and not s.why
            ]
    assert not missing, f"ignored/unsupported without a reason: {missing}"
