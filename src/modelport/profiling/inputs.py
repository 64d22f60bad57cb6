"""The request bodies a profile replays, each with where it came from (for error messages)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.errors import InvalidArgument
from modelport.registry.datasets import FILES, Dataset, TabularDataset

if TYPE_CHECKING:
    from modelport.workspace import Workspace


@dataclass(frozen=True)
class Request:
    """One request body and its origin, e.g. 'line 57' or 'file a.json'."""

    where: str
    body: bytes


def load_requests(workspace: Workspace, source: Any) -> tuple[str, list[Request]]:
    """(description, requests) from a Dataset, a TabularDataset, a local path or a dataset id.

    A string that names an existing file or folder is read as a path; otherwise it is a
    registered dataset's 'name[:version]'.
    """
    if source is None:
        raise InvalidArgument(
            "Profiling needs input_dataset: request bodies to replay.",
            hint="Register a text file with one request per line: Dataset.register(ws, name, path).",
        )
    if isinstance(source, str | os.PathLike) and Path(source).exists():
        path = Path(source)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file())
            return str(path), _from_files([(p.relative_to(path).as_posix(), p) for p in found])
        return str(path), _from_lines([(path.name, path)], "\n", single=True)
    if isinstance(source, str | os.PathLike) and not _looks_like_id(str(source)):
        raise InvalidArgument(f"Input dataset file {source} does not exist.")
    if isinstance(source, str):
        source = Dataset.get(workspace, source)
    if isinstance(source, TabularDataset):
        files = [(p.name, p) for p in source.paths]
        return ", ".join(map(str, source.paths)), _check(
            _from_lines(files, source.separator, single=len(files) == 1), str(source.paths[0])
        )
    if isinstance(source, Dataset):
        files = source.local_files()
        if source.format == FILES:
            requests = _from_files(files)
        else:
            requests = _from_lines(files, source.separator, single=len(files) == 1)
        return f"dataset {source.id}", _check(requests, f"dataset {source.id}")
    raise InvalidArgument(
        f"Unsupported input_dataset {type(source).__name__}: pass a Dataset, a path or a dataset name."
    )


def _looks_like_id(text: str) -> bool:
    import re

    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*(:\d+)?", text) is not None


def _from_lines(files: list[tuple[str, Path]], separator: str, *, single: bool) -> list[Request]:
    requests: list[Request] = []
    for rel, path in files:
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
        for number, record in enumerate(text.split(separator), start=1):
            record = record.rstrip("\r")
            if record.strip():
                where = f"line {number}" if single else f"{rel} line {number}"
                requests.append(Request(where, record.encode("utf-8", errors="surrogateescape")))
    return _check(requests, files[0][1].name if single and files else "the dataset")


def _from_files(files: list[tuple[str, Path]]) -> list[Request]:
    return _check([Request(f"file {rel}", path.read_bytes()) for rel, path in files], "the folder")


def _check(requests: list[Request], what: str) -> list[Request]:
    if not requests:
        raise InvalidArgument(f"{what} holds no requests.", hint="Write one request body per line.")
    return requests
