"""modelport's v1 classes against the reference SDK's own surface (v1_reference/signatures.json,
written from azureml-core by v1_reference/extract.py).

Every public member of the reference's Environment, PythonSection, DockerSection,
CondaDependencies, Model, InferenceConfig and Webservice classes must exist here: working,
accepted-and-ignored with a warning, or (a few, listed in coverage.toml) refusing with one line
that says what to do instead. Every parameter v1 names must be accepted, in v1's order, with
v1's default where the default is a plain value, unless listed below with the reason.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from modelport._ignored import is_unsupported
from modelport.migrate.coverage import UNSUPPORTED, load
from tests.migrate.test_coverage_table import instance_attributes

REFERENCE = json.loads((Path(__file__).parent / "v1_reference" / "signatures.json").read_text())
COVERAGE = load()

TARGETS = {
    "Environment": "modelport.core.environment:Environment",
    "PythonSection": "modelport.core.environment:PythonSection",
    "DockerSection": "modelport.core.environment:DockerSection",
    "CondaDependencies": "modelport.core.conda_dependencies:CondaDependencies",
    "Model": "modelport.core.model:Model",
    "InferenceConfig": "modelport.core.model:InferenceConfig",
    "Webservice": "modelport.core.webservice:Webservice",
    "LocalWebservice": "modelport.core.webservice:LocalWebservice",
    "AciWebservice": "modelport.core.webservice:AciWebservice",
    "AksWebservice": "modelport.core.webservice:AksWebservice",
}

# Parameters v1 names that modelport does not name, and why: they are refused. Each is
# re-checked: once modelport names it, drop it from here.
NOT_ACCEPTED: dict[str, str] = {
    "LocalWebservice.()(must_exist)": "a handle on a service that does not exist has nothing "
    "to act on: Webservice(ws, name) raises ServiceNotFound",
}

# Parameters named differently, v1's name -> why.
RENAMED = {
    "Webservice.run(input)": "v1's abstract base names it `input`; every v1 subclass (and "
    "modelport) calls it input_data",
}

# Defaults that differ from v1 on purpose.
DEFAULT_DIFFERENCES = {
    "CondaDependencies.create(python_version)": "v1's default is the running Python; so is ours",
    "CondaDependencies.save(path)": "same meaning: None writes conda_dependencies.yml",
    "AksWebservice.deploy_configuration(auth_enabled)": "same value (True); v1 writes None",
    "AksWebservice.deploy_configuration(scoring_timeout_ms)": "v1's None is the AKS default, "
    "60000 ms, which modelport writes out",
}

_SUBCLASS_ORDER = (
    "v1's own subclasses order update()'s keywords differently (image first), so v1 code "
    "passes them by keyword"
)

# Parameters whose position differs from v1 (callers pass them by keyword in v1's own docs).
ORDER_DIFFERENCES = {
    "CondaDependencies.create": "v1 1.61 moved pip_indexurl first; it stays last here so the "
    "older positional form create(pip_packages, conda_packages, python_version) ports",
    "AciWebservice.update": _SUBCLASS_ORDER,
    "AksWebservice.update": _SUBCLASS_ORDER,
}


def _resolve(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _cases() -> list[tuple[str, str]]:
    return [(c, m) for c, info in REFERENCE["classes"].items() for m in info["members"]]


def _instance_names(cls: type) -> set[str]:
    """Attributes a default instance has (for classes that are cheap to build)."""
    if cls.__name__ in ("PythonSection", "DockerSection", "CondaDependencies"):
        return set(dir(cls()))
    if cls.__name__ == "Environment":
        return set(dir(cls("x")))
    return set()


def test_the_reference_was_recorded_from_azureml_core_1x() -> None:
    assert REFERENCE["package"] == "azureml-core"
    assert REFERENCE["version"].startswith("1.")
    assert len(REFERENCE["classes"]) == len(TARGETS)


@pytest.mark.parametrize(("class_name", "member"), _cases())
def test_every_v1_member_exists(class_name: str, member: str) -> None:
    cls = _resolve(TARGETS[class_name])
    present = hasattr(cls, member) or member in instance_attributes(cls)
    present = present or member in _instance_names(cls)
    assert present, f"{class_name}.{member} is missing (v1 has it as {member!r})"
    value = inspect.getattr_static(cls, member, None)
    if value is not None and is_unsupported(value):
        entry = COVERAGE.classes.get(class_name)
        status = entry.methods.get(member) if entry else None
        assert status is not None and status.status.status == UNSUPPORTED, (
            f"{class_name}.{member} refuses to run: coverage.toml must call it unsupported"
        )


def _params(func: Any) -> tuple[list[inspect.Parameter], bool]:
    params = [
        p for p in inspect.signature(func).parameters.values() if p.name not in ("self", "cls")
    ]
    named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return named, any(p.kind == p.VAR_KEYWORD for p in params)


def _callables() -> list[tuple[str, str]]:
    cases = []
    for class_name, info in REFERENCE["classes"].items():
        cases.append((class_name, "()"))
        for member, data in info["members"].items():
            if data.get("params") is not None:
                cases.append((class_name, member))
    return cases


@pytest.mark.parametrize(("class_name", "member"), _callables())
def test_v1_parameters_are_accepted_in_order_with_v1_defaults(class_name: str, member: str) -> None:
    cls = _resolve(TARGETS[class_name])
    info = REFERENCE["classes"][class_name]
    reference = info["init"] if member == "()" else info["members"][member]["params"]
    func = cls if member == "()" else getattr(cls, member)
    if is_unsupported(inspect.getattr_static(cls, member, None)):
        return  # it refuses whatever it is given (see test_every_v1_member_exists)
    ours, var_keyword = _params(func)
    by_name = {p.name: p for p in ours}
    problems = []
    wanted = [p for p in reference if p["kind"] not in ("VAR_POSITIONAL", "VAR_KEYWORD")]
    for p in wanted:
        label = f"{class_name}.{member}({p['name']})"
        missing = p["name"] not in by_name and not var_keyword
        if missing and label not in NOT_ACCEPTED and label not in RENAMED:
            problems.append(f"{label}: not accepted")
        mine = by_name.get(p["name"])
        if mine is None or "value" not in p["default"]:
            continue
        if p["default"]["value"] is None and mine.default is False:
            continue  # v1's None for a flag means off
        if mine.default is inspect.Parameter.empty:
            problems.append(f"{label}: v1 defaults it to {p['default']['value']!r}; here required")
        elif mine.default != p["default"]["value"] and label not in DEFAULT_DIFFERENCES:
            problems.append(f"{label}: default {mine.default!r}, v1's {p['default']['value']!r}")
    common = [p["name"] for p in wanted if p["name"] in by_name]
    mine_order = [p.name for p in ours if p.name in set(common)]
    if common != mine_order and f"{class_name}.{member}" not in ORDER_DIFFERENCES:
        problems.append(f"{class_name}.{member}: parameter order {mine_order}, v1's {common}")
    assert not problems, "\n".join(problems)


def test_the_listed_differences_are_still_true() -> None:
    """An entry of NOT_ACCEPTED that modelport has since accepted must leave the list."""
    stale = []
    for label in NOT_ACCEPTED:
        class_name, _, rest = label.partition(".")
        member, _, param = rest[: -len(")")].rpartition("(")
        cls = _resolve(TARGETS[class_name])
        ours, _ = _params(cls if member == "()" else getattr(cls, member))
        if param in {p.name for p in ours}:
            stale.append(label)
    assert not stale, f"now accepted, remove from NOT_ACCEPTED: {stale}"


def test_module_constants_match_the_reference_images() -> None:
    import modelport.core.environment as environment

    for key, value in REFERENCE["constants"].items():
        name = key.rsplit(".", 1)[1]
        assert value.startswith(getattr(environment, name)), name  # v1 appends a date tag
