"""modelport-runtime: its module set follows modelport.scoring's real import graph, and its
wheel is written from the installed files with the slim dependency list."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import grimp
import pytest

from modelport.environments import runtime

# Imported only when an entry script or a runtime's model asks for them; never required.
OPTIONAL = {"numpy", "pandas", "tensorflow", "onnxruntime", "mlflow", "sklearn", "joblib"}
# what the runtime's requirements provide, by import name
PROVIDED = {
    "uvicorn",
    "httptools",
    "uvloop",
    "orjson",
    "werkzeug",
    "jwt",
    "inference_schema",
    "psutil",
}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        "modelport",
        include_external_packages=True,
        exclude_type_checking_imports=True,
        cache_dir=None,
    )


def _roots(graph: grimp.ImportGraph) -> set[str]:
    """What runs in a service or batch environment: the scoring server (every module of it:
    workers and shims are started or aliased by name), the no-code runtimes' score modules,
    the batch worker (`python -m modelport.batch.worker`), a batch shard on a cluster node
    (`python -m modelport.batch.shard`) and an endpoint's router (a router
    pod on Kubernetes runs `python -m modelport.routing` in a version's image)."""
    return {
        m
        for m in graph.modules
        if m == "modelport.scoring"
        or m.startswith("modelport.scoring.")
        or (m.startswith("modelport.runtimes.") and m.endswith("_score"))
    } | {
        "modelport.batch.worker",
        "modelport.batch.shard",
        *(m for m in graph.modules if m.startswith("modelport.routing")),
    }


def _closure(graph: grimp.ImportGraph, roots: set[str]) -> set[str]:
    """Modules reachable from `roots`, with the packages Python imports on the way."""
    seen: set[str] = set()
    stack = sorted(roots)
    while stack:
        module = stack.pop()
        if module in seen or not module.startswith("modelport"):
            continue
        seen.add(module)
        parts = module.split(".")
        stack += [".".join(parts[:i]) for i in range(1, len(parts))]
        stack += sorted(graph.find_modules_directly_imported_by(module))
    return seen


def test_the_runtime_module_set_is_closed_under_imports(graph: grimp.ImportGraph) -> None:
    needed = _closure(graph, _roots(graph))
    assert needed - set(runtime.MODULES) == set(), "add these to runtime.MODULES"
    assert set(runtime.MODULES) - needed == set(), "nothing in a service imports these"


def test_the_runtime_imports_no_host_side_package(graph: grimp.ImportGraph) -> None:
    external: dict[str, set[str]] = {}
    for module in runtime.MODULES:
        for imported in graph.find_modules_directly_imported_by(module):
            if not imported.startswith("modelport"):
                external.setdefault(imported, set()).add(module)
    stdlib = set(sys.stdlib_module_names)
    unexpected = {k: v for k, v in external.items() if k not in stdlib | OPTIONAL | PROVIDED}
    assert unexpected == {}
    # (psutil is in: the router, which a router pod runs in a version's image, needs it)
    for host_side in ("click", "rich", "sqlalchemy", "httpx", "pydantic", "yaml"):
        assert host_side not in external


def test_the_runtime_wheel_holds_exactly_its_modules(tmp_path: Path) -> None:
    log: list[str] = []
    wheel = runtime.installed_wheel(runtime.runtime_source(), tmp_path, log.append, "runtime")
    assert wheel.name == "modelport_runtime-0.1.0-py3-none-any.whl"
    assert any("writing" in line for line in log)
    again = runtime.installed_wheel(runtime.runtime_source(), tmp_path, log.append, "runtime")
    assert again == wheel and "reusing" in log[-1]  # cached by version + content digest
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read("modelport_runtime-0.1.0.dist-info/METADATA").decode()
        record = archive.read("modelport_runtime-0.1.0.dist-info/RECORD").decode()
    code = {n for n in names if not n.startswith("modelport_runtime-")}
    assert len(code) == len(runtime.MODULES)
    assert "modelport/scoring/__main__.py" in code and "modelport/runtimes/sklearn_score.py" in code
    assert not any(
        n.startswith(("modelport/registry", "modelport/cli", "modelport/core")) for n in code
    )
    assert all(name in record for name in names)
    requires = [
        line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Requires-Dist")
    ]
    assert requires == list(runtime.REQUIRES)
    lowered = " ".join(requires).lower()
    for absent in ("sqlalchemy", "click", "rich", "pandas", "numpy"):
        assert absent not in lowered


def test_the_digest_follows_the_content(tmp_path: Path) -> None:
    """Same files, same key; a changed file gives a new key (an edited checkout rebuilds)."""
    source = runtime.runtime_source()
    assert runtime.runtime_source().key == source.key
    copy = tmp_path / "errors.py"
    copy.write_bytes(source.files["modelport/errors.py"].read_bytes() + b"\n# edited\n")
    edited = runtime.WheelSource(
        source.name, {**source.files, "modelport/errors.py": copy}, source.metadata
    )
    assert edited.key != source.key and edited.key.startswith("0.1.0-")


def test_the_full_wheel_is_written_from_the_installation(tmp_path: Path) -> None:
    from modelport.packaging.wheel import modelport_wheel

    wheel = modelport_wheel(tmp_path, lambda _: None, full=True)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("modelport-0.1.0.dist-info/entry_points.txt").decode()
    assert wheel.name == "modelport-0.1.0-py3-none-any.whl"
    assert {"modelport/cli/main.py", "modelport/migrate/coverage.toml"} <= names
    assert "modelport = modelport.cli.main:main" in entry_points
    assert not any("__pycache__" in n for n in names)


def test_a_host_only_name_in_a_service_says_what_to_do() -> None:
    """Inside a service `modelport.Workspace` is missing; the error says why and what to do."""
    import subprocess

    code = (
        "import sys, modelport\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('modelport.core'): raise ModuleNotFoundError(name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "try:\n    modelport.Workspace\nexcept ModuleNotFoundError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "not part of modelport-runtime" in out.stdout
    assert "list 'modelport' in the environment's pip packages" in out.stdout
