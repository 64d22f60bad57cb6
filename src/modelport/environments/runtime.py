"""modelport-runtime: the part of modelport that runs inside a service environment.

A service environment runs only `python -m modelport.scoring` (and the no-code runtimes' score
modules, the azureml shims entry scripts import, batch jobs' `modelport.batch.worker` and,
on cluster nodes, a step shard's `modelport.batch.shard` with the pool and journal it runs, and
an endpoint's router `python -m modelport.routing`, which a router pod runs in the default
version's image). Installing the whole of modelport there
would bring its floors (SQLAlchemy, rich, pandas>=2, numpy>=1.24, ...) into environments pinned
to older releases, so services get `modelport-runtime` instead: those modules only, with the
few dependencies they import and the widest ranges that work (no numpy or pandas at all: an
entry script that needs them lists them, and the runtimes' packages bring them).

Both wheels — this one, and the full `modelport` wheel for environments and images that ask
for it — are written here from the *installed* package files (a checkout, an editable
install or an installed wheel alike), never fetched from an index, and cached by version plus
a digest of their content. `MODULES` is kept closed under imports by
tests/environments/test_runtime.py, which walks `modelport.scoring`'s real import graph.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import modelport
from modelport._locks import named_lock
from modelport._version import __version__

Log = Callable[[str], None]

DIST_NAME = "modelport-runtime"
# Every module a service process imports, by name (a package stands for its __init__.py).
MODULES: tuple[str, ...] = (
    "modelport",
    "modelport._jsonfile",
    "modelport._net",
    "modelport._procs",
    "modelport._version",
    "modelport.batch",
    "modelport.batch.journal",
    "modelport.batch.outcomes",
    "modelport.batch.plan",
    "modelport.batch.pool",
    "modelport.batch.progress",
    "modelport.batch.shard",
    "modelport.batch.spec",
    "modelport.batch.worker",
    "modelport.errors",
    "modelport.routing",
    "modelport.routing.__main__",
    "modelport.routing.app",
    "modelport.routing.metrics",
    "modelport.routing.protocol",
    "modelport.routing.server",
    "modelport.routing.shadow",
    "modelport.routing.slots",
    "modelport.routing.supervisor",
    "modelport.routing.table",
    "modelport.routing.upstream",
    "modelport.runtimes",
    "modelport.runtimes._locate",
    "modelport.runtimes._mlflow",
    "modelport.runtimes._onnx",
    "modelport.runtimes._script",
    "modelport.runtimes._serving",
    "modelport.runtimes._sklearn",
    "modelport.runtimes._tensorflow",
    "modelport.runtimes.batching",
    "modelport.runtimes.mlflow_score",
    "modelport.runtimes.onnx_score",
    "modelport.runtimes.sklearn_score",
    "modelport.runtimes.tensorflow_score",
    "modelport.scoring",
    "modelport.scoring.__main__",
    "modelport.scoring._accept",
    "modelport.scoring._cli",
    "modelport.scoring._http",
    "modelport.scoring._memory",
    "modelport.scoring._protocol",
    "modelport.scoring._worker",
    "modelport.scoring.app",
    "modelport.scoring.auth",
    "modelport.scoring.config",
    "modelport.scoring.dataplane",
    "modelport.scoring.entry",
    "modelport.scoring.logs",
    "modelport.scoring.metrics",
    "modelport.scoring.runner",
    "modelport.scoring.schema",
    "modelport.scoring.shims",
    "modelport.scoring.shims.aml_request",
    "modelport.scoring.shims.aml_response",
    "modelport.scoring.shims.model",
    "modelport.scoring.shims.monitoring",
    "modelport.scoring.shims.run",
    "modelport.scoring.v2",
    "modelport.scoring.workers",
    "modelport.settings",
)
# What those modules import, with the oldest release each works with. uvicorn's protocol
# classes changed in 0.29; werkzeug's Request/Response and PyJWT's decode(algorithms=) are
# stable since 2.0; inference-schema before 1.7.1 cannot import on Python 3.11 (its wrapt
# pin uses inspect.formatargspec; 1.7.1 passes tests/scoring's schema and swagger tests).
# (uvicorn itself requires click and h11: the only reason click is in a service environment.)
REQUIRES: tuple[str, ...] = (
    "uvicorn>=0.29",
    "httptools>=0.5",
    "uvloop>=0.17; sys_platform != 'win32'",
    "orjson>=3.9",
    "werkzeug>=2.0",
    "PyJWT>=2.0",
    "inference-schema>=1.7.1",
    "psutil>=5.6",  # the router (process start times, signals); wheels for every platform
)
# The server's own plumbing: exempt from an environment's resolution cut-off (its floors are
# newer than most v1 environments); a version the environment pins still holds.
PLUMBING: tuple[str, ...] = (
    "uvicorn",
    "httptools",
    "uvloop",
    "orjson",
    "pyjwt",
    "inference-schema",
    "psutil",
)
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".ruff_cache"}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # reproducible archives: the digest names the content


@dataclass(frozen=True)
class WheelSource:
    """A wheel to write: its distribution name, files (archive path -> disk path), METADATA."""

    name: str
    files: dict[str, Path]
    metadata: str
    entry_points: str | None = None

    @property
    def key(self) -> str:
        """`<version>-<sha256 of names, contents and metadata>`: the cache folder's name."""
        digest = hashlib.sha256(self.metadata.encode() + b"\0")
        digest.update((self.entry_points or "").encode() + b"\0")
        for arcname, path in sorted(self.files.items()):
            digest.update(arcname.encode() + b"\0" + path.read_bytes() + b"\0")
        return f"{__version__}-{digest.hexdigest()[:16]}"

    @property
    def filename(self) -> str:
        return f"{self.name.replace('-', '_')}-{__version__}-py3-none-any.whl"


def package_root() -> Path:
    """The folder of the running modelport package (site-packages or a checkout's src/)."""
    return Path(modelport.__file__).resolve().parent


def runtime_source() -> WheelSource:
    """modelport-runtime: MODULES from the running installation, REQUIRES as dependencies."""
    root = package_root()
    files: dict[str, Path] = {}
    for module in MODULES:
        relative = Path(*module.split(".")[1:])
        path = root / relative / "__init__.py"
        if not path.is_file():
            path = root / relative.with_suffix(".py")
        files[path.relative_to(root.parent).as_posix()] = path
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {DIST_NAME}",
        f"Version: {__version__}",
        "Summary: The in-environment part of modelport: the scoring server and v1 shims.",
        "Requires-Python: >=3.11",
        *(f"Requires-Dist: {r}" for r in REQUIRES),
    ]
    return WheelSource(DIST_NAME, files, "\n".join(lines) + "\n")


def full_source() -> WheelSource:
    """The whole modelport, with the metadata of the installed distribution."""
    root = package_root()
    files: dict[str, Path] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(names):
            if not name.endswith((".pyc", ".pyo")):
                path = Path(folder) / name
                files[path.relative_to(root.parent).as_posix()] = path
    dist = importlib.metadata.distribution("modelport")
    metadata = (
        dist.read_text("METADATA")
        or f"Metadata-Version: 2.1\nName: modelport\nVersion: {__version__}\n"
    )
    return WheelSource("modelport", files, metadata, dist.read_text("entry_points.txt"))


def installed_wheel(source: WheelSource, cache_root: Path, log: Log, label: str) -> Path:
    """The cached wheel of `source` under `cache_root/<key>/`, written on first use.

    Written into a temporary sibling and renamed into place under a lock, so a cached folder
    always holds exactly one whole wheel.
    """
    key = source.key
    folder = cache_root / key
    with named_lock(cache_root, key):
        found = folder / source.filename
        if found.is_file():
            log(f"{label}: reusing {found.name} ({key})")
            return found
        log(f"{label}: writing {source.filename} from {package_root()}")
        cache_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache_root))
        try:
            _write_wheel(source, staging / source.filename)
            staging.chmod(0o755)
            shutil.rmtree(folder, ignore_errors=True)  # an incomplete earlier attempt
            os.rename(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    log(f"{label}: built {source.filename} ({key})")
    return folder / source.filename


def _write_wheel(source: WheelSource, target: Path) -> None:
    info = f"{source.name.replace('-', '_')}-{__version__}.dist-info"
    wheel_meta = (
        "Wheel-Version: 1.0\nGenerator: modelport\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    entries: list[tuple[str, bytes]] = [
        (a, p.read_bytes()) for a, p in sorted(source.files.items())
    ]
    entries += [
        (f"{info}/METADATA", source.metadata.encode()),
        (f"{info}/WHEEL", wheel_meta.encode()),
    ]
    if source.entry_points:
        entries.append((f"{info}/entry_points.txt", source.entry_points.encode()))
    record = "".join(f"{name},{_hash(data)},{len(data)}\n" for name, data in entries)
    entries.append((f"{info}/RECORD", (record + f"{info}/RECORD,,\n").encode()))
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            member = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            member.external_attr = 0o644 << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, data)


def _hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"
