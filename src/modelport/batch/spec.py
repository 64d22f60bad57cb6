"""What one batch step does, validated up front and serialisable to the driver process.

`BatchSpec` is the single contract between the v1 façade (`modelport.pipeline`), the CLI and
the driver: plain JSON values only, so the driver can run in another process (and, later, on
another machine) from the file alone.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from modelport.errors import InvalidArgument

FILES = "files"
TABULAR = "tabular"
APPEND_ROW = "append_row"
SUMMARY_ONLY = "summary_only"
DEFAULT_FILE_NAME = "parallel_run_step.txt"
DEFAULT_FILES_PER_BATCH = 10
DEFAULT_TABULAR_BYTES = 1024 * 1024
HEADER_ALL = "all_files_have_same_headers"
HEADER_FIRST = "only_first_file_has_headers"
HEADER_NONE = "no_headers"
_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


@dataclass
class BatchSpec:
    """One ParallelRunStep: the script, the inputs and how to split, run and collect them."""

    name: str
    entry_script: str
    source_directory: str
    input_kind: Literal["files", "tabular"]
    inputs: list[str]
    mini_batch_size: int
    error_threshold: int
    output_action: str = APPEND_ROW
    append_row_file_name: str = DEFAULT_FILE_NAME
    process_count: int = 1
    run_invocation_timeout: float = 60.0
    run_max_try: int = 3
    logging_level: str = "INFO"
    arguments: list[str] = field(default_factory=list)
    allow_reuse: bool = True
    online: bool = False
    separator: str = ","
    header: str = HEADER_ALL
    output_name: str = "output"
    environment: dict[str, Any] | None = None
    input_name: str | None = None
    node_count: int = 1  # > 1: shards on the attached compute `compute` (batch/sharded.py)
    compute: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy; not `dataclasses.asdict`, whose deep copy walks every input
        path one by one (a tenth of a second per call for 10,000 files)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["inputs"] = list(self.inputs)
        if self.environment is not None:
            data["environment"] = copy.deepcopy(self.environment)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchSpec:
        return cls(**data)

    def fingerprint(self) -> str:
        """Same script, sources, inputs and result-shaping settings → same work folder.

        Settings that do not change any mini-batch's result (workers, timeout, retries,
        threshold, logging) are left out, so changing them still resumes.
        """
        h = hashlib.sha256()
        keep = {
            k: v
            for k, v in self.to_dict().items()
            if k
            not in {
                "process_count",
                "run_invocation_timeout",
                "run_max_try",
                "error_threshold",
                "logging_level",
                "allow_reuse",
                "name",
                "inputs",
            }
        }
        h.update(json.dumps(keep, sort_keys=True).encode())
        for path in self.inputs:
            st = os.stat(path)
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        for source in _source_files(Path(self.source_directory)):
            st = source.stat()
            h.update(f"{source}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()[:24]


def _source_files(root: Path) -> list[Path]:
    skip = {"__pycache__", ".git", ".venv", ".modelport"}
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        found.extend(Path(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
        if len(found) > 2000:  # a data folder used as source directory: scripts are enough
            break
    return found


# -- validation -----------------------------------------------------------------------------
def parse_mini_batch_size(value: Any, kind: str) -> int:
    """Files per mini-batch (FileDataset) or bytes per mini-batch ("1MB", TabularDataset)."""
    if value is None:
        return DEFAULT_FILES_PER_BATCH if kind == FILES else DEFAULT_TABULAR_BYTES
    text = str(value).strip().upper()
    if kind == FILES:
        if not text.isdigit() or int(text) < 1:
            raise InvalidArgument(
                f"mini_batch_size {value!r} is not a number of files.",
                hint="For a FileDataset give a positive integer, e.g. 10.",
            )
        return int(text)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?", text)
    if not match or float(match.group(1)) <= 0:
        raise InvalidArgument(
            f"mini_batch_size {value!r} is not a size.",
            hint='For a TabularDataset give a size such as "1MB", "512KB" or 1024 (bytes).',
        )
    return max(1, int(float(match.group(1)) * _UNITS[match.group(2) or ""]))


def check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgument(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return value


def check_entry_script(path: Path, *, online: bool) -> None:
    """Fail early, naming the file, when the script is missing or defines no run()/init().

    The script is parsed, not imported: importing runs user code that may need packages only
    the step's environment has.
    """
    if not path.is_file():
        raise InvalidArgument(
            f"Entry script {path} does not exist.", hint="Check entry_script and source_directory."
        )
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        raise InvalidArgument(
            f"{path}:{exc.lineno}: the entry script is not valid Python ({exc.msg})."
        ) from None
    names = _top_level_names(tree)
    # v1's batch skeleton documents init() as optional; the online contract requires it.
    required = ("init", "run") if online else ("run",)
    for name in required:
        if name not in names:
            raise InvalidArgument(
                f"{path} does not define a {name}() function.",
                hint="A batch entry script defines init() and run(mini_batch).",
            )


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.If | ast.Try):
            # definitions under `if`/`try` (platform switches) count too
            sub = ast.Module(body=[*node.body, *getattr(node, "orelse", [])], type_ignores=[])
            names |= _top_level_names(sub)
    return names


def header_mode(header: Any) -> str:
    """v1's PromoteHeadersBehavior (or a bool) → one of our three modes; None → v1's default."""
    if header is None or header is True or header == HEADER_ALL:
        return HEADER_ALL
    if header is False or header == HEADER_NONE:
        return HEADER_NONE
    if header in (HEADER_FIRST, "combine_all_files_headers"):
        return HEADER_FIRST if header == HEADER_FIRST else HEADER_ALL
    raise InvalidArgument(f"Unknown header behaviour {header!r}.")
