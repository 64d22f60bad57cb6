"""Reclaiming the artifact store's disk: unreferenced blobs, temporary files of dead writers,
and model-cache entries of deleted versions.

Why this is safe while other processes register: a registration writes its blobs first and
commits the metadata row that references them after, so "delete every blob no row
references" alone would delete the blobs of a registration in flight, or a blob it just
found by dedupe and is about to reference. Every blob writer (`ArtifactStore.writing`) holds
the store's lock file *shared* from its first blob until its row has committed (or it has
failed); the collector holds it *exclusive* (`flock`) while it reads the references and
removes blobs. So while the collector runs, no blob exists that an uncommitted row will
reference: each blob is referenced by a committed row (SQLite or PostgreSQL, read after the
lock is taken) or is garbage. A writer that starts after the collector finds a removed blob
missing and writes it again. The kernel drops the lock of a killed process, so a `kill -9`
never wedges the store, and for the same reason everything in `artifacts/tmp` (and staging
folders of the model cache, built under the shared lock) is abandoned once the exclusive lock
is held. flock needs the workspace on a local filesystem (or NFSv4), as SQLite does.

A grace period on blob age was the alternative; it needs no lock but is only as safe as its
guess of how long a registration can take, and would keep a deleted version's disk for that
long, so the lock won.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.registry.artifacts import STAGE, STALE, FileEntry
from modelport.registry.records import ModelRecord

if TYPE_CHECKING:
    from modelport.workspace import Workspace

ORPHAN_BLOBS = "orphan blobs"
TEMP_FILES = "temporary files"
MODEL_CACHE = "model cache"


@dataclass(frozen=True)
class Reclaimed:
    """What one category of garbage holds (or held): how many items and how many bytes."""

    category: str
    count: int
    bytes: int

    def to_dict(self) -> dict[str, object]:
        return {"category": self.category, "count": self.count, "bytes": self.bytes}


def model_cache(workspace: Workspace) -> Path:
    """Where `Model.get_model_path(..., _workspace=ws)` materialises versions."""
    return workspace.path / "cache" / "azureml-models"


class Sweep:
    """Paths to remove, grouped by category, with the bytes removing them frees.

    Blobs and cache entries are hard links of one inode, so a file's bytes count once, for
    the category whose removal drops its last link; a link kept elsewhere (a service's
    model folder) frees nothing. Reusable by other reclaimers (environments, services).
    """

    def __init__(self, categories: Iterable[str]) -> None:
        self._items: dict[str, list[list[Path]]] = {c: [] for c in categories}

    def add(self, category: str, *paths: Path) -> None:
        """One item (counted once) made of these files or folders."""
        self._items[category].append(list(paths))

    def run(self, dry_run: bool) -> list[Reclaimed]:
        links: dict[tuple[int, int], int] = {}
        last: dict[tuple[int, int], tuple[str, int, int]] = {}  # inode -> (category, size, nlink)
        for category, items in self._items.items():
            for item in items:
                for path in item:
                    for st in _stats(path):
                        inode = (st.st_dev, st.st_ino)
                        links[inode] = links.get(inode, 0) + 1
                        last[inode] = (category, st.st_size, st.st_nlink)
        freed = dict.fromkeys(self._items, 0)
        for inode, (category, size, nlink) in last.items():
            if links[inode] >= nlink:
                freed[category] += size
        if not dry_run:
            for items in self._items.values():
                for item in items:
                    for path in item:
                        _remove(path)
        return [Reclaimed(c, len(items), freed[c]) for c, items in self._items.items()]


def referenced_blobs(workspace: Workspace, models: list[ModelRecord] | None = None) -> set[str]:
    """sha256 of every blob a committed model version or dataset version references."""
    from modelport.registry.datasets import KIND as DATASET

    if models is None:
        models = workspace.store.list_models()
    shas = {f["sha256"] for m in models for f in m.files}
    for doc in workspace.store.list_documents(DATASET):
        shas.update(f["sha256"] for v in doc.get("versions", []) for f in v["files"])
    return shas


def reclaim_artifacts(workspace: Workspace, dry_run: bool = False) -> list[Reclaimed]:
    """Orphan blobs, temporary files and stale model-cache entries; removed unless dry_run."""
    store = workspace.artifacts
    sweep = Sweep([MODEL_CACHE, ORPHAN_BLOBS, TEMP_FILES])
    with store.exclusive():
        models = workspace.store.list_models()
        live = {(m.name, str(m.version)) for m in models}
        cache = model_cache(workspace)
        for name in sorted(os.listdir(cache)) if cache.is_dir() else []:
            if name.startswith((STAGE, STALE)):  # left by older releases
                sweep.add(TEMP_FILES, cache / name)
            elif (cache / name).is_dir():
                for version in sorted(os.listdir(cache / name)):
                    if version.startswith((STAGE, STALE)):  # built under the shared lock
                        sweep.add(TEMP_FILES, cache / name / version)
                    elif version.isdigit() and (name, version) not in live:
                        sweep.add(MODEL_CACHE, cache / name / version)
        referenced = referenced_blobs(workspace, models)
        for sha, _ in store.blobs():
            if sha not in referenced:
                sweep.add(ORPHAN_BLOBS, *store.blob_files(sha))
        for path in store.scratch():
            sweep.add(TEMP_FILES, path)
        result = sweep.run(dry_run)
        if not dry_run and cache.is_dir():
            _remove_empty_folders(cache)
    return result


def free_version(workspace: Workspace, name: str, version: int, files: list[FileEntry]) -> int:
    """After a version's row is deleted: remove its cache entry and the blobs no other
    version references; return the bytes freed."""
    store = workspace.artifacts
    sweep = Sweep([MODEL_CACHE, ORPHAN_BLOBS])
    with store.exclusive():
        entry = model_cache(workspace) / name / str(version)
        if entry.is_dir():
            sweep.add(MODEL_CACHE, entry)
        referenced = referenced_blobs(workspace)
        for sha in dict.fromkeys(f.sha256 for f in files):
            if sha not in referenced and store.blob_path(sha).exists():
                sweep.add(ORPHAN_BLOBS, *store.blob_files(sha))
        freed = sum(r.bytes for r in sweep.run(dry_run=False))
        if entry.parent.is_dir() and not any(entry.parent.iterdir()):
            entry.parent.rmdir()
    return freed


def _stats(path: Path) -> list[os.stat_result]:
    try:
        if not path.is_dir() or path.is_symlink():
            return [path.lstat()]
    except FileNotFoundError:
        return []
    return [p.lstat() for p in path.rglob("*") if p.is_file() and not p.is_symlink()]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _remove_empty_folders(cache: Path) -> None:
    for folder in cache.iterdir():
        if folder.is_dir() and not folder.name.startswith(".") and not any(folder.iterdir()):
            folder.rmdir()
